import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Tessera, NodeFileDevice, tempDir, dec } from './helpers.js';

test('engine errors carry a stable code', () => {
  const db = Tessera.memory();
  assert.throws(() => db.put('t', 'k'.repeat(2000), 'v'), (e) => e instanceof Error && e.code === 'KEY_TOO_LARGE');
  assert.throws(() => db.put('', 'k', 'v'), { code: 'INVALID_TABLE_NAME' });
  assert.throws(() => Tessera.openDevice(makeMemDevice(), { pageSize: 1000 }), { code: 'INVALID_OPTIONS' });
  db.close();
});

test('bad arguments throw INVALID_ARGUMENT and never poison the instance', () => {
  const db = Tessera.memory();
  db.put('t', 'a', '1');
  const bad = [
    () => db.put('t', 42, 'v'),
    () => db.put('t', 'k', { not: 'bytes' }),
    () => db.put(7, 'k', 'v'),
    () => db.get('t', null),
    () => db.read((rx) => [...rx.range('t', 5)]),
    () => db.read((rx) => [...rx.range('t', undefined, undefined, { limit: -1 })]),
    () => db.read((rx) => [...rx.range('t', undefined, undefined, { reverse: 'yes' })]),
    () => db.read((rx) => [...rx.range('t', undefined, undefined, { batchSize: 0 })]),
    () => db.write((tx) => tx.setDurability('sometimes')),
    () => Tessera.openDevice({}),
    () => Tessera.open(`/nonexistent-dir-${process.pid}/x.db`),
  ];
  for (const f of bad) {
    assert.throws(f, (e) => e instanceof Error && typeof e.code === 'string');
  }
  assert.throws(() => db.put('t', 42, 'v'), { code: 'INVALID_ARGUMENT' });
  // Still fully usable.
  db.put('t', 'b', '2');
  assert.equal(dec(db.get('t', 'a')), '1');
  assert.equal(dec(db.get('t', 'b')), '2');
  assert.equal(db.check().ok, true);
  db.close();
  assert.throws(() => db.get('t', 'a'), { code: 'CLOSED' });
});

test('opening the same file twice in one process fails with LOCKED', () => {
  const t = tempDir();
  try {
    const db = Tessera.open(t.file('l.db'));
    assert.throws(() => Tessera.open(t.file('l.db')), { code: 'LOCKED' });
    fs.symlinkSync(t.file('l.db'), t.file('link.db'));
    assert.throws(() => Tessera.open(t.file('link.db')), { code: 'LOCKED' });
    db.close();
    Tessera.open(t.file('link.db')).close(); // released on close
  } finally {
    t.cleanup();
  }
});

test('a file that is not a database', () => {
  const t = tempDir();
  try {
    fs.writeFileSync(t.file('junk.db'), Buffer.alloc(8192, 0x41));
    assert.throws(() => Tessera.open(t.file('junk.db')), { code: 'NOT_A_DATABASE' });
    // The failed open released the file.
    fs.writeFileSync(t.file('junk.db'), '');
    Tessera.open(t.file('junk.db')).close();
  } finally {
    t.cleanup();
  }
});

test('device errors become IO errors (and poison until reopen)', () => {
  const dev = makeMemDevice();
  const db = Tessera.openDevice(dev);
  db.put('t', 'a', '1');
  dev.failSync = true;
  assert.throws(() => db.put('t', 'b', '2'), (e) => e.code === 'IO' && /disk on fire/.test(e.message));
  assert.throws(() => db.put('t', 'c', '3'), { code: 'POISONED' });
  db.close();
  dev.failSync = false;
  const db2 = Tessera.openDevice(dev);
  assert.equal(dec(db2.get('t', 'a')), '1');
  db2.close();
});

test('NodeFileDevice: offsets above 4 GiB are exact (sparse file)', () => {
  const t = tempDir();
  try {
    const fd = fs.openSync(t.file('sparse.bin'), 'w+');
    try {
      const dev = new NodeFileDevice(fd);
      const at = 5 * 2 ** 30 + 12345; // 5 GiB + change: beyond i32 and u32
      dev.write(at, new Uint8Array([1, 2, 3]));
      assert.equal(dev.len(), at + 3);
      assert.equal(fs.fstatSync(fd).size, at + 3);
      const buf = new Uint8Array(3);
      dev.read(at, buf);
      assert.deepEqual([...buf], [1, 2, 3]);
      assert.throws(() => dev.read(at + 1, new Uint8Array(3)), { code: 'EOF' });
      dev.setLen(4096);
      assert.equal(dev.len(), 4096);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    t.cleanup();
  }
});

/** An in-memory device in JS (a Map of 4 KiB chunks), with fault injection. */
function makeMemDevice() {
  const chunks = new Map();
  const C = 4096;
  const dev = {
    size: 0,
    failSync: false,
    read(offset, buf) {
      if (offset + buf.length > dev.size) throw new Error('read past end');
      for (let i = 0; i < buf.length; ) {
        const o = offset + i;
        const c = chunks.get(Math.floor(o / C));
        const within = o % C;
        const n = Math.min(C - within, buf.length - i);
        if (c) buf.set(c.subarray(within, within + n), i);
        else buf.fill(0, i, i + n);
        i += n;
      }
    },
    write(offset, data) {
      for (let i = 0; i < data.length; ) {
        const o = offset + i;
        const idx = Math.floor(o / C);
        let c = chunks.get(idx);
        if (!c) chunks.set(idx, (c = new Uint8Array(C)));
        const within = o % C;
        const n = Math.min(C - within, data.length - i);
        c.set(data.subarray(i, i + n), within);
        i += n;
      }
      dev.size = Math.max(dev.size, offset + data.length);
    },
    sync() {
      if (dev.failSync) {
        const e = new Error('disk on fire');
        e.code = 'EIO';
        throw e;
      }
    },
    len() {
      return dev.size;
    },
    setLen(n) {
      for (const k of chunks.keys()) if (k * C >= n) chunks.delete(k);
      const last = chunks.get(Math.floor(n / C));
      if (last) last.fill(0, n % C);
      dev.size = n;
    },
  };
  return dev;
}
