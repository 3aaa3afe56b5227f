// One database file, two openers, every pairing: two Node processes, Node and the native
// `tessera` tool (both orders), a main thread and a worker thread (both ways), a holder killed
// with SIGKILL. The second opener gets LOCKED (or waits with `timeout`), never a second handle.
// The lock protocol is described in docs/ARCHITECTURE.md ("Locking a database file").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tessera, tempDir, dec } from './helpers.js';
import { acquireFileLock } from '../src/node-base.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const holderScript = fileURLToPath(new URL('./lock-holder.mjs', import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');

let cliPath;
/** The `tessera` binary (TESSERA_CLI, else built here: a no-op when run-tests.sh built it). */
function cli() {
  if (cliPath) return cliPath;
  if (process.env.TESSERA_CLI) return (cliPath = process.env.TESSERA_CLI);
  execFileSync('cargo', ['build', '--quiet', '--release', '-p', 'tessera-cli'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  return (cliPath = path.join(targetDir, 'release', 'tessera'));
}

// Children and workers still running when the tests end (a failed test) are stopped.
const children = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

let helperPath;
/** The native test helper (./native-helper: `hold FILE [--readonly]`), built if need be. */
function nativeHelper() {
  if (helperPath) return helperPath;
  const manifest = fileURLToPath(new URL('./native-helper/Cargo.toml', import.meta.url));
  execFileSync('cargo', ['build', '--quiet', '--release', '--manifest-path', manifest], { stdio: ['ignore', 'inherit', 'inherit'] });
  const dir = process.env.CARGO_TARGET_DIR
    ? path.resolve(process.env.CARGO_TARGET_DIR)
    : fileURLToPath(new URL('./native-helper/target', import.meta.url));
  return (helperPath = path.join(dir, 'release', 'tessera-native-helper'));
}

/** A child process whose stdout is read line by line. */
function run(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const lines = [];
  let waiters = [];
  let pending = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    pending += d;
    for (let i; (i = pending.indexOf('\n')) >= 0; ) {
      lines.push(pending.slice(0, i));
      pending = pending.slice(i + 1);
    }
    waiters = waiters.filter((w) => !w());
  });
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, lines })));
  /** The first line of stdout that matches `re` (rejects if the process ends first). */
  const waitLine = (re) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const line = lines.find((l) => re.test(l));
        if (line !== undefined) resolve(line);
        return line !== undefined;
      };
      if (check()) return;
      waiters.push(check);
      exited.then(({ code, signal }) => reject(new Error(`${cmd} ended (${code ?? signal}) before a line matching ${re}; stdout: ${lines.join(' | ')}; stderr: ${stderr}`)));
    });
  return { child, waitLine, exited, lines };
}

/** A Node process holding `file` (see lock-holder.mjs). */
function nodeHolder(file, ...args) {
  return run(process.execPath, [holderScript, file, ...args]);
}

/** A worker thread holding `file`; `messages()` resolves with its next message. */
function workerHolder(file, options = {}) {
  const worker = new Worker(holderScript, { workerData: { file, rows: 0, ...options } });
  worker.unref();
  const queue = [];
  let wake = null;
  worker.on('message', (m) => {
    queue.push(m);
    if (wake) wake();
  });
  worker.on('error', (e) => {
    queue.push(`worker error ${e.message}`);
    if (wake) wake();
  });
  const next = async () => {
    while (queue.length === 0) await new Promise((r) => (wake = r));
    wake = null;
    return queue.shift();
  };
  return { worker, next };
}

const lockDir = (file) => `${file}-lock`;

function rows(db) {
  return db.read((rx) => [...rx.entries('held')].map(([k, v]) => [dec(k), dec(v)]));
}

test('two Node processes: the second open throws LOCKED naming the holder, then opens once it closed', { timeout: 60_000 }, async () => {
  const t = tempDir();
  try {
    const f = t.file('two.db');
    const h = nodeHolder(f, '--rows', '3');
    await h.waitLine(/^ready/);
    assert.throws(
      () => Tessera.open(f),
      (e) => e.code === 'LOCKED' && e.message.includes(f) && e.message.includes(`pid ${h.child.pid}`),
    );
    // A second try gives the same answer (the failed open left nothing behind).
    assert.throws(() => Tessera.open(f), { code: 'LOCKED' });
    h.child.stdin.write('close\n');
    const { code } = await h.exited;
    assert.equal(code, 0);
    const db = Tessera.open(f);
    assert.deepEqual(rows(db).map(([k]) => k), ['last', 'row-000000', 'row-000001', 'row-000002']);
    assert.equal(db.check().ok, true);
    db.close();
    assert.equal(fs.existsSync(lockDir(f)), false, 'the lock directory is removed by the last holder');
  } finally {
    t.cleanup();
  }
});

test('two Node processes: with `timeout` the second open waits for the first to close', { timeout: 60_000 }, async () => {
  const t = tempDir();
  try {
    const f = t.file('wait.db');
    // A timeout shorter than the hold: LOCKED once it has run out.
    const h = nodeHolder(f, '--rows', '1', '--close-after', '1500');
    await h.waitLine(/^ready/);
    const t0 = Date.now();
    assert.throws(() => Tessera.open(f, { timeout: 300 }), { code: 'LOCKED' });
    assert.ok(Date.now() - t0 >= 250, `gave up after ${Date.now() - t0} ms, before the timeout`);
    // A longer one: opens right after the holder's close, and sees its last commit.
    const db = Tessera.open(f, { timeout: 30_000 });
    assert.equal(db.get('held', 'last') && dec(db.get('held', 'last')), 'closed');
    assert.ok(Date.now() - t0 >= 1000, 'the open waited for the holder');
    db.close();
    assert.equal((await h.exited).code, 0);
  } finally {
    t.cleanup();
  }
});

test('Node holds the file: the tessera CLI fails with "locked", or waits with --timeout', { timeout: 600_000 }, async () => {
  const tessera = cli();
  const t = tempDir();
  try {
    const f = t.file('node-first.db');
    const db = Tessera.open(f);
    db.put('t', 'k', 'v');
    const kv = spawnSync(tessera, ['--db', f, 'get', 't', 'k'], { encoding: 'utf8' });
    assert.equal(kv.status, 1, `tessera get should fail; stdout: ${kv.stdout} stderr: ${kv.stderr}`);
    assert.match(kv.stderr, /locked/);
    const shell = spawnSync(tessera, [f, '-c', 'SELECT 1'], { encoding: 'utf8' });
    assert.equal(shell.status, 1, `the shell should fail; stdout: ${shell.stdout} stderr: ${shell.stderr}`);
    assert.match(shell.stderr, /locked/);
    // --timeout: the CLI waits until Node closes, then writes.
    const waiting = run(tessera, ['--db', f, '--timeout', '30000', 'put', 't', 'k2', 'v2']);
    await new Promise((r) => setTimeout(r, 500));
    db.close();
    const { code, stderr } = await waiting.exited;
    assert.equal(code, 0, stderr);
    const again = Tessera.open(f);
    assert.equal(dec(again.get('t', 'k2')), 'v2');
    assert.equal(again.check().ok, true);
    again.close();
  } finally {
    t.cleanup();
  }
});

test('the tessera CLI holds the file: Node gets LOCKED, or waits with `timeout`', { timeout: 600_000 }, async () => {
  const tessera = cli();
  const t = tempDir();
  try {
    const f = t.file('cli-first.db');
    // The shell reads statements from a pipe; after our stdin ends it holds on for 0.7 s more.
    const sh = run('sh', ['-c', '{ cat; sleep 0.7; } | "$0" "$1"', tessera, f]);
    sh.child.stdin.write('CREATE TABLE t(x); INSERT INTO t VALUES (1); SELECT 40 + 2;\n');
    await sh.waitLine(/42/);
    assert.throws(() => Tessera.open(f), { code: 'LOCKED' });
    // Flushed to the pipe before the open blocks this thread (which would hold the writes back).
    await new Promise((resolve) => sh.child.stdin.end('INSERT INTO t VALUES (2);\n', resolve));
    const t0 = Date.now();
    const db = Tessera.open(f, { timeout: 30_000 });
    assert.ok(Date.now() - t0 >= 300, `opened after ${Date.now() - t0} ms, while the CLI still held the file`);
    assert.deepEqual(db.prepare('SELECT x FROM t ORDER BY x').pluck().all(), [1, 2]);
    assert.equal(db.check().ok, true);
    db.close();
    assert.equal((await sh.exited).code, 0);
  } finally {
    t.cleanup();
  }
});

test('a main thread and a worker thread: whichever opens second gets LOCKED', { timeout: 60_000 }, async () => {
  const t = tempDir();
  try {
    const f = t.file('threads.db');
    // Main thread first.
    const db = Tessera.open(f);
    const w1 = workerHolder(f);
    const m1 = await w1.next();
    if (!m1.startsWith('error')) await w1.worker.terminate();
    assert.match(m1, /^error LOCKED /);
    await w1.worker.terminate();
    db.close();
    // Worker first.
    const w2 = workerHolder(f, { rows: 2 });
    assert.match(await w2.next(), /^ready/);
    assert.throws(() => Tessera.open(f), { code: 'LOCKED' });
    w2.worker.postMessage('close');
    assert.equal(await w2.next(), 'closed');
    const db2 = Tessera.open(f);
    assert.equal(rows(db2).length, 3);
    db2.close();
    // Worker first, closing on its own while the main thread waits (`timeout`).
    const w3 = workerHolder(f, { closeAfter: 500 });
    assert.match(await w3.next(), /^ready/);
    const t0 = Date.now();
    const db3 = Tessera.open(f, { timeout: 30_000 });
    assert.ok(Date.now() - t0 >= 300, 'the main thread waited for the worker');
    db3.close();
    assert.equal(await w3.next(), 'closed');
  } finally {
    t.cleanup();
  }
});

test('kill -9 of a Node holder: the next opener (Node, then the CLI) gets in, with every committed row', { timeout: 600_000 }, async () => {
  const tessera = cli();
  const t = tempDir();
  try {
    const f = t.file('killed.db');
    const h = nodeHolder(f, '--rows', '40');
    await h.waitLine(/^ready/);
    h.child.kill('SIGKILL');
    assert.equal((await h.exited).signal, 'SIGKILL');
    const db = Tessera.open(f);
    assert.equal(rows(db).length, 40);
    assert.equal(db.check().ok, true);
    db.close();
    assert.equal(fs.existsSync(lockDir(f)), false);

    const h2 = nodeHolder(f, '--rows', '41');
    await h2.waitLine(/^ready/);
    h2.child.kill('SIGKILL');
    await h2.exited;
    const r = spawnSync(tessera, ['--db', f, 'tables'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'held\t41');
    assert.equal(fs.existsSync(lockDir(f)), false);
  } finally {
    t.cleanup();
  }
});

test('kill -9 of the tessera CLI: Node opens next, with what it committed', { timeout: 600_000 }, async () => {
  const tessera = cli();
  const t = tempDir();
  try {
    const f = t.file('cli-killed.db');
    const sh = run(tessera, [f]);
    sh.child.stdin.write('CREATE TABLE t(x); INSERT INTO t VALUES (7); SELECT 40 + 2;\n');
    await sh.waitLine(/42/);
    assert.throws(() => Tessera.open(f), { code: 'LOCKED' });
    sh.child.kill('SIGKILL');
    await sh.exited;
    const db = Tessera.open(f);
    assert.deepEqual(db.prepare('SELECT x FROM t').pluck().all(), [7]);
    assert.equal(db.check().ok, true);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('read-only openers share the file; a writer keeps them out and is kept out (Node and native)', { timeout: 600_000 }, async () => {
  const helper = nativeHelper();
  const tessera = cli();
  const t = tempDir();
  try {
    const f = t.file('shared.db');
    const setup = Tessera.open(f);
    setup.put('t', 'k', 'v');
    setup.close();
    const real = fs.realpathSync(f);
    // Readers: two native processes, a Node process and this thread.
    const n1 = run(helper, ['hold', f, '--readonly']);
    await n1.waitLine(/^ready/);
    const n2 = run(helper, ['hold', f, '--readonly']);
    await n2.waitLine(/^ready/);
    const j1 = nodeHolder(f, '--lock-only', '--readonly');
    await j1.waitLine(/^ready/);
    const release = acquireFileLock(real, { readonly: true });
    // Writers are kept out: Node, the CLI, a native process.
    assert.throws(() => Tessera.open(f), (e) => e.code === 'LOCKED' && /open read-only in pid/.test(e.message));
    assert.throws(() => acquireFileLock(real), { code: 'LOCKED' });
    const cliRun = spawnSync(tessera, ['--db', f, 'get', 't', 'k'], { encoding: 'utf8' });
    assert.equal(cliRun.status, 1);
    assert.match(cliRun.stderr, /locked/);
    const w = run(helper, ['hold', f]);
    assert.match(await w.waitLine(/^(ready|error)/), /^error LOCKED /);
    release();
    for (const h of [n1, n2, j1]) {
      h.child.stdin.end();
      assert.equal((await h.exited).code, 0);
    }
    assert.equal(fs.existsSync(lockDir(f)), false);

    // A writer (Node) keeps readers out: Node (this thread and another process) and native.
    const db = Tessera.open(f);
    assert.throws(() => acquireFileLock(real, { readonly: true }), { code: 'LOCKED' });
    assert.throws(() => Tessera.open(f, { readonly: true }), { code: 'LOCKED' });
    const j2 = nodeHolder(f, '--lock-only', '--readonly');
    assert.match(await j2.waitLine(/^(ready|error)/), /^error LOCKED /);
    const n3 = run(helper, ['hold', f, '--readonly']);
    assert.match(await n3.waitLine(/^(ready|error)/), /^error LOCKED /);
    db.close();
    // ... and a native writer keeps Node readers out.
    const nw = run(helper, ['hold', f]);
    await nw.waitLine(/^ready/);
    assert.throws(() => acquireFileLock(real, { readonly: true }), { code: 'LOCKED' });
    nw.child.stdin.end();
    await nw.exited;
  } finally {
    t.cleanup();
  }
});

test('open options: a read-only open never creates the file; a bad timeout is INVALID_ARGUMENT', () => {
  const t = tempDir();
  try {
    const f = t.file('missing.db');
    assert.throws(() => Tessera.open(f, { readonly: true }), { code: 'ENOENT' });
    assert.equal(fs.existsSync(f), false);
    assert.equal(fs.existsSync(lockDir(f)), false);
    for (const timeout of [-1, 'soon', NaN]) {
      assert.throws(() => Tessera.open(t.file('x.db'), { timeout }), { code: 'INVALID_ARGUMENT' });
    }
    // lockTimeout is the same option (the browser's name).
    const db = Tessera.open(t.file('y.db'), { lockTimeout: 10 });
    assert.throws(() => Tessera.open(t.file('y.db'), { lockTimeout: 10 }), { code: 'LOCKED' });
    db.close();
  } finally {
    t.cleanup();
  }
});

test('stale entries: a dead pid, and this pid with another start time, are removed; others stay', () => {
  const t = tempDir();
  try {
    const f = t.file('stale.db');
    Tessera.open(f).close();
    const dir = lockDir(f);
    fs.mkdirSync(dir);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = [`w.${gone}.0.0123456789abcdef`];
    if (process.platform === 'linux') {
      const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').slice(0, 8);
      stale.push(`w.${process.pid}.${boot}-1.0123456789abcdef`, `r.1.00000000-1.0123456789abcdef`);
    }
    for (const name of [...stale, 'notes.txt', 'w.12.0.short']) fs.writeFileSync(path.join(dir, name), 'test\n');
    const db = Tessera.open(f);
    const left = fs.readdirSync(dir).filter((n) => !n.startsWith(`w.${process.pid}.`) || stale.includes(n));
    assert.deepEqual(left.sort(), ['notes.txt', 'w.12.0.short']);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('racing writers: four Node processes and the CLI take turns; nothing is lost or damaged', { timeout: 600_000 }, async () => {
  const tessera = cli();
  const t = tempDir();
  try {
    const f = t.file('race.db');
    const nodes = [];
    for (let i = 0; i < 4; i++) nodes.push(nodeHolder(f, '--cycles', '5', '--rows', '20', '--timeout', '120000'));
    const shell = run('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do "$0" --db "$1" --timeout 120000 put cli "k$i" v || exit 1; done', tessera, f]);
    for (const p of [...nodes, shell]) {
      const { code, stderr } = await p.exited;
      assert.equal(code, 0, stderr);
    }
    const db = Tessera.open(f);
    assert.equal(db.read((rx) => rx.count('held')), 4 * 5 * 20);
    assert.equal(db.read((rx) => rx.count('cli')), 10);
    assert.equal(db.check().ok, true);
    db.close();
    assert.equal(fs.existsSync(lockDir(f)), false);
  } finally {
    t.cleanup();
  }
});
