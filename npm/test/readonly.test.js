// Read-only opens, the read-only fallback of a file Node cannot write, and damaged files:
// CORRUPTED naming what is lost, `salvage` reading the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tessera, tempDir, dec } from './helpers.js';

/** A database with rows in a table and commits left in its log (closing does not checkpoint). */
function logged(file) {
  const db = Tessera.open(file);
  for (let i = 0; i < 4; i++) db.write((tx) => tx.put('t', `k${i}`, `v${i}`));
  db.close();
}

test('readonly: nothing is written, the log is read, writes throw READ_ONLY', () => {
  const t = tempDir();
  try {
    const f = t.file('ro.db');
    logged(f);
    const before = fs.readFileSync(f);
    const db = Tessera.open(f, { readonly: true });
    assert.equal(db.readonly, true);
    assert.equal(db.read((tx) => tx.count('t')), 4);
    assert.equal(dec(db.get('t', 'k3')), 'v3');
    assert.ok(db.recoveryReport().framesReplayed >= 4);
    assert.throws(() => db.put('t', 'x', 'y'), { code: 'READ_ONLY' });
    assert.throws(() => db.checkpoint(), { code: 'READ_ONLY' });
    db.close();
    assert.deepEqual(fs.readFileSync(f), before, 'a read-only open changed the file');
    // A missing file is not created.
    assert.throws(() => Tessera.open(t.file('missing.db'), { readonly: true }), { code: 'ENOENT' });
    assert.equal(fs.existsSync(t.file('missing.db')), false);
  } finally {
    t.cleanup();
  }
});

test('a file Node cannot write opens read-only, and says why', { skip: process.platform === 'win32' }, () => {
  const t = tempDir();
  try {
    const f = t.file('locked-down.db');
    logged(f);
    fs.chmodSync(f, 0o444);
    fs.chmodSync(t.dir, 0o755);
    const before = fs.readFileSync(f);
    // Root ignores permissions: the check runs as an unprivileged user then.
    const asRoot = process.getuid?.() === 0;
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { Tessera } = await import(${JSON.stringify(new URL('./helpers.js', import.meta.url).href)});
         const db = Tessera.open(${JSON.stringify(f)});
         const r = db.recoveryReport();
         let put = 'ok';
         try { db.put('t', 'x', 'y'); } catch (e) { put = e.code; }
         console.log(JSON.stringify({ readonly: db.readonly, why: r.openedReadOnly, n: db.read((tx) => tx.count('t')), put }));
         db.close();`,
      ],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)), env: process.env, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) },
    );
    assert.equal(child.status, 0, child.stderr);
    const got = JSON.parse(child.stdout.trim().split('\n').pop());
    assert.equal(got.readonly, true);
    assert.match(got.why, /cannot open it for writing/);
    assert.equal(got.n, 4);
    assert.equal(got.put, 'READ_ONLY');
    assert.deepEqual(fs.readFileSync(f), before);
  } finally {
    t.cleanup();
  }
});

test('a damaged log frame throws CORRUPTED; salvage reads the commits before it', () => {
  const t = tempDir();
  try {
    const f = t.file('damaged.db');
    logged(f);
    const bytes = fs.readFileSync(f);
    const frames = [];
    for (let o = 512; o + 4 <= bytes.length; o += 512) if (bytes.toString('latin1', o, o + 4) === 'TLOG') frames.push(o);
    assert.ok(frames.length >= 4, `${frames.length} frames`);
    // The frames are in commit order here (one region, written in order); damage the third.
    bytes[frames[2] + 60] ^= 0x08;
    fs.writeFileSync(f, bytes);
    assert.throws(() => Tessera.open(f), (e) => e.code === 'CORRUPTED' && /cannot be read/.test(e.message) && /salvage/.test(e.message));
    const db = Tessera.open(f, { salvage: true, readonly: true });
    assert.match(db.recoveryReport().salvaged, /cannot be read/);
    assert.equal(db.read((tx) => tx.count('t')), 2);
    assert.equal(dec(db.get('t', 'k1')), 'v1');
    assert.equal(db.get('t', 'k2'), undefined);
    db.close();
    assert.deepEqual(fs.readFileSync(f), bytes, 'salvage + readonly wrote');
  } finally {
    t.cleanup();
  }
});
