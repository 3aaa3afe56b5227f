#!/usr/bin/env node
// Node: tessera-db's synchronous SQL API against better-sqlite3, same workloads as the SQL part
// of the browser benchmark (bench/sql-worker.js), on database files on disk.
//
//   node bench/node/compare.mjs                 # N = 100,000 (+1,000 durable inserts)
//   node bench/node/compare.mjs --quick         # N = 10,000
//   node bench/node/compare.mjs --runs=3        # three runs and a summary of the ratios
//   node bench/node/compare.mjs --n=20000 --engines=tessera,sqlite-full --dir=/some/disk
//   node bench/node/compare.mjs --profile=DIR   # also a V8 CPU profile per engine and workload:
//                                               # DIR/<engine>-<workload>.cpuprofile (summary:
//                                               # node bench/profile-top.mjs FILE)
//
// better-sqlite3 is not a dependency of tessera-db: it lives in bench/node/package.json and is
// installed there on first use (`npm install` in bench/node/, ~2 minutes: node-gyp builds it
// from source when no prebuilt binary can be downloaded). `--no-install` skips that and runs
// tessera alone if it is missing.
//
// Engines, each in its own child process (a fresh heap and JIT per engine):
//   tessera:        Tessera.open(file) (src/node.js), default options: 64 MiB cache, every
//                   commit (COMMIT, each autocommit write) fsyncs the file (synchronous=FULL).
//   tessera-normal: the same with PRAGMA synchronous = NORMAL (a commit writes its log frame
//                   but does not wait for the sync: survives an application crash, a power
//                   loss can lose the last transactions).
//   sqlite-normal:  better-sqlite3, WAL, synchronous=NORMAL (the same guarantee: commits do not
//                   fsync), cache_size 64 MiB.
//   sqlite-full:    better-sqlite3, WAL, synchronous=FULL (every commit fsyncs the WAL).
// Ratios pair the same guarantee: sqlite-full against tessera, sqlite-normal against
// tessera-normal (against tessera when tessera-normal did not run).
// Workloads (table t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL,
// payload BLOB NOT NULL); ids in random order; name 16 hex chars; value a multiple of 0.25;
// payload 100 random bytes):
//   bulk:    N prepared run() in one transaction (db.transaction(fn))
//   durable: 1,000 prepared run() in autocommit mode (N/100 with --n)
//   points:  N prepared get(id) on random existing ids (row objects), autocommit reads
//   scan:    SELECT id, name, value, payload FROM t through iterate() (row objects)
// Every workload's results are checked (row counts, sums of ids and values, payload bytes).
// Before the timed workloads each engine runs all four once on a scratch table at 2% of the
// size (20% of the autocommits; then drops it), so that both are measured warm: V8 compiles
// wasm lazily and optimises hot functions later (in background threads: the child then waits
// 0.5 s), and better-sqlite3's JS wrapper is JIT-compiled too. `--warmup=0` measures from a
// cold start instead.
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import inspector from 'node:inspector';
import { distinctKeys, prng, sqlRows } from '../sql-data.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (!m) throw new Error(`bad argument ${a}`);
  return [m[1], m[2] ?? true];
}));
const N = Number(argv.n ?? (argv.quick ? 10_000 : 100_000));
const D = Number(argv.durable ?? Math.max(10, Math.min(1000, Math.round(N / 100))));
const VALUE_SIZE = 100;
const WARMUP = argv.warmup === undefined ? true : argv.warmup !== '0';
const ENGINES = ['tessera', 'tessera-normal', 'sqlite-normal', 'sqlite-full'];

// --- data (the same in every process: seeded) ------------------------------------------------

function makeData() {
  const rnd = prng(42);
  const total = N + D;
  const names = distinctKeys(rnd, total);
  const payloads = Array.from({ length: total }, () => {
    const b = Buffer.allocUnsafe(VALUE_SIZE);
    for (let j = 0; j < VALUE_SIZE; j += 4) b.writeUInt32LE(rnd(), j);
    return b;
  });
  const r = sqlRows(rnd, { names, payloads, bulk: N, reads: N });
  return {
    bulk: r.bulk,
    durable: r.durable,
    pointIds: r.pointIds,
    expected: {
      points: { rows: N, value: r.pointValue, payload: N * VALUE_SIZE },
      scan: { rows: total, id: (total * (total + 1)) / 2, value: r.allValue, payload: total * VALUE_SIZE },
    },
    total,
  };
}

// --- one engine (child process) ---------------------------------------------------------------

const SCHEMA = 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL, payload BLOB NOT NULL)';

async function openEngine(name, file) {
  if (name.startsWith('tessera')) {
    const { Tessera } = await import(pathToFileURL(path.join(here, '../../src/node.js')).href);
    const db = Tessera.open(file);
    if (name === 'tessera-normal') db.exec('PRAGMA synchronous = NORMAL');
    const sync = db.prepare('PRAGMA synchronous').pluck().get();
    return { db, info: `tessera-db (src/node.js), default options, synchronous ${sync} (${sync === 2 ? 'fsync per commit' : 'no fsync per commit'})` };
  }
  const require = createRequire(path.join(here, 'package.json'));
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${name === 'sqlite-full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('cache_size = -65536');
  const version = db.prepare('SELECT sqlite_version()').pluck().get();
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'package.json'), 'utf8'));
  return {
    db,
    info: `better-sqlite3 ${pkg.version} (SQLite ${version}), journal_mode ${db.pragma('journal_mode', { simple: true })}, synchronous ${db.pragma('synchronous', { simple: true })}, cache_size ${db.pragma('cache_size', { simple: true })}`,
  };
}

/** `--profile=DIR`: a CPU profile of each timed workload (node:inspector, 100 µs sampling). */
let profiler = null;
function profileStart() {
  if (!argv.profile) return;
  if (!profiler) {
    profiler = new inspector.Session();
    profiler.connect();
    profiler.post('Profiler.enable');
    profiler.post('Profiler.setSamplingInterval', { interval: 100 });
  }
  profiler.post('Profiler.start');
}
function profileStop(file) {
  if (!profiler) return;
  profiler.post('Profiler.stop', (err, { profile }) => {
    if (err) throw err;
    fs.mkdirSync(String(argv.profile), { recursive: true });
    fs.writeFileSync(path.join(String(argv.profile), file), JSON.stringify(profile));
  });
}

function time(fn, label) {
  profileStart();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const check = fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  profileStop(`${label}.cpuprofile`);
  return { ms, cpuMs: (c.user + c.system) / 1000, check };
}

/**
 * The four workloads on a scratch table, untimed (2% of the rows; 20% of the autocommits: a
 * commit's code runs once per commit, so it needs more rounds to be optimised); then the
 * table is dropped.
 */
function warmUp(db, data) {
  const n = Math.max(100, Math.round(N / 50));
  const d = Math.max(10, Math.round(D / 5));
  db.exec(SCHEMA.replace('TABLE t', 'TABLE warm'));
  const ins = db.prepare('INSERT INTO warm VALUES (?, ?, ?, ?)');
  const { names, values, payloads } = data.bulk;
  db.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(i + 1, names[i], values[i], payloads[i]);
  })();
  for (let i = n; i < n + d; i++) ins.run(i + 1, names[i], values[i], payloads[i]);
  const sel = db.prepare('SELECT name, value, payload FROM warm WHERE id = ?');
  let rows = 0;
  for (let i = 0; i < n; i++) if (sel.get(1 + ((i * 7919) % (n + d))) !== undefined) rows++;
  for (const r of db.prepare('SELECT id, name, value, payload FROM warm').iterate()) rows += r.id > 0 ? 1 : 0;
  if (rows !== 2 * n + d) throw new Error(`warm-up read ${rows} rows, expected ${2 * n + d}`);
  db.exec('DROP TABLE warm');
}

async function child(name, dir) {
  const data = makeData();
  const file = path.join(dir, `${name}.db`);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  const { db, info } = await openEngine(name, file);
  if (WARMUP) {
    warmUp(db, data);
    // V8 optimises in background threads: let them finish rather than compete with the timed
    // workloads for this machine's cores.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  db.exec(SCHEMA);
  const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
  const sel = db.prepare('SELECT name, value, payload FROM t WHERE id = ?');
  const scan = db.prepare('SELECT id, name, value, payload FROM t');
  const W = {};

  W.bulk = time(() => {
    const { ids, names, values, payloads } = data.bulk;
    db.transaction(() => {
      for (let i = 0; i < ids.length; i++) ins.run(ids[i], names[i], values[i], payloads[i]);
    })();
    return ids.length;
  }, `${name}-bulk`);
  W.durable = time(() => {
    const { ids, names, values, payloads } = data.durable;
    let changes = 0;
    for (let i = 0; i < ids.length; i++) changes += ins.run(ids[i], names[i], values[i], payloads[i]).changes;
    return changes;
  }, `${name}-durable`);
  const count = db.prepare('SELECT count(*) FROM t').pluck().get();
  W.points = time(() => {
    let rows = 0, value = 0, payload = 0;
    for (const id of data.pointIds) {
      const r = sel.get(id);
      if (r === undefined) continue;
      rows++;
      value += r.value;
      payload += r.payload.length;
    }
    return { rows, value, payload };
  }, `${name}-points`);
  W.scan = time(() => {
    let rows = 0, id = 0, value = 0, payload = 0;
    for (const r of scan.iterate()) {
      rows++;
      id += r.id;
      value += r.value;
      payload += r.payload.length;
    }
    return { rows, id, value, payload };
  }, `${name}-scan`);
  db.close();
  const bytes = fs.statSync(file).size;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });

  const errors = [];
  const want = (what, got, exp) => { if (JSON.stringify(got) !== JSON.stringify(exp)) errors.push(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(exp)}`); };
  want('bulk', W.bulk.check, N);
  want('durable', W.durable.check, D);
  want('count(*)', count, data.total);
  want('points', W.points.check, data.expected.points);
  want('scan', W.scan.check, data.expected.scan);
  process.stdout.write(JSON.stringify({ name, info, workloads: W, bytes, errors }) + '\n');
}

// --- driver -----------------------------------------------------------------------------------

function haveBetterSqlite3() {
  try {
    createRequire(path.join(here, 'package.json'))('better-sqlite3');
    return true;
  } catch {
    return false;
  }
}

function fsType(dir) {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main() {
  let engines = argv.engines ? String(argv.engines).split(',') : ENGINES;
  for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e} (${ENGINES.join(', ')})`);
  if (engines.some((e) => e.startsWith('sqlite')) && !haveBetterSqlite3()) {
    if (argv['no-install']) {
      console.error('better-sqlite3 is not installed (bench/node/): running tessera only');
      engines = engines.filter((e) => e.startsWith('tessera'));
    } else {
      console.error(`installing better-sqlite3 into ${here} (npm install; builds from source if needed, ~2 min)`);
      const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here, stdio: 'inherit' });
      if (r.status !== 0 || !haveBetterSqlite3()) throw new Error('npm install of better-sqlite3 failed (or run with --no-install)');
    }
  }
  const dir = argv.dir ? path.resolve(String(argv.dir)) : fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-node-bench-'));
  fs.mkdirSync(dir, { recursive: true });
  const runs = Number(argv.runs ?? 1);
  console.log(`Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), files in ${dir} (${fsType(dir)}), ${new Date().toISOString()}`);
  console.log(`N = ${N.toLocaleString('en')} rows + ${D.toLocaleString('en')} durable inserts; each engine in its own process, ${WARMUP ? 'warmed up first (the workloads at 2% of the rows, 20% of the autocommits, on a scratch table)' : 'measured cold (--warmup=0)'}\n`);
  const all = [];
  let failed = false;
  try {
    for (let run = 0; run < runs; run++) {
      const results = {};
      for (const e of engines) {
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--child=${e}`, `--n=${N}`, `--durable=${D}`, `--dir=${dir}`, `--warmup=${WARMUP ? 1 : 0}`, ...(argv.profile ? [`--profile=${path.resolve(String(argv.profile))}`] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
        if (r.status !== 0) throw new Error(`${e} failed (exit ${r.status})`);
        results[e] = JSON.parse(r.stdout.trim().split('\n').pop());
        if (results[e].errors.length) {
          failed = true;
          console.error(`${e}: WRONG RESULTS\n  ${results[e].errors.join('\n  ')}`);
        }
      }
      all.push(results);
      if (run === 0) for (const [e, x] of Object.entries(results)) console.log(`${e}: ${x.info}`);
      console.log(`\n### Run ${run + 1} of ${runs}\n`);
      console.log(table(results));
    }
  } finally {
    if (!argv.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
  const pairs = ratioPairs(all[0]);
  if (all.length > 1 && pairs.length) {
    console.log(`\n### Ratios over ${all.length} runs (engine time / tessera time: median, range; above 1: tessera faster)\n`);
    console.log(`| workload | ${pairs.map(([n, t]) => `${n}/${t}`).join(' | ')} |\n|---|${pairs.map(() => '---:').join('|')}|`);
    for (const w of Object.keys(labels)) {
      const cells = pairs.map(([n, t]) => {
        const r = all.map((x) => x[n].workloads[w].ms / x[t].workloads[w].ms).sort((a, b) => a - b);
        const med = r.length % 2 ? r[(r.length - 1) / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
        return `${med.toFixed(2)}x (${r[0].toFixed(2)}–${r[r.length - 1].toFixed(2)})`;
      });
      console.log(`| ${labels[w]()} | ${cells.join(' | ')} |`);
    }
  }
  if (argv.json) fs.writeFileSync(String(argv.json), JSON.stringify(all, null, 2));
  if (failed) process.exit(1);
}

const labels = {
  bulk: () => `${N.toLocaleString('en')} inserts, one transaction`,
  durable: () => `${D.toLocaleString('en')} inserts, each its own transaction (autocommit)`,
  points: () => `${N.toLocaleString('en')} point selects by primary key (get())`,
  scan: () => `full scan of ${(N + D).toLocaleString('en')} rows (iterate())`,
};

/** [sqlite engine, the tessera engine with the same durability] for the engines in `results`. */
function ratioPairs(results) {
  const pairs = [];
  for (const n of Object.keys(results)) {
    if (!n.startsWith('sqlite')) continue;
    const t = n === 'sqlite-normal' && results['tessera-normal'] ? 'tessera-normal' : 'tessera';
    if (results[t]) pairs.push([n, t]);
  }
  return pairs;
}

function table(results) {
  const names = Object.keys(results);
  const pairs = ratioPairs(results);
  const head = ['workload', ...names.map((n) => `${n} ms`), ...pairs.map(([n, t]) => `${n}/${t} time`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const w of Object.keys(labels)) {
    const cells = [labels[w]()];
    for (const n of names) {
      const x = results[n].workloads[w];
      cells.push(`${x.ms.toFixed(1)} (cpu ${x.cpuMs.toFixed(0)})`);
    }
    for (const [n, t] of pairs) {
      const r = results[n].workloads[w].ms / results[t].workloads[w].ms;
      cells.push(`${r.toFixed(2)}x ${r >= 1 ? '✓' : '✗'}`);
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('', `File size after the run: ${names.map((n) => `${n} ${(results[n].bytes / 2 ** 20).toFixed(1)} MiB`).join(', ')} (SQLite: main file, its WAL checkpointed on close; Tessera: includes its in-file log region).`);
  return lines.join('\n');
}

if (argv.child) await child(String(argv.child), String(argv.dir));
else await main();
