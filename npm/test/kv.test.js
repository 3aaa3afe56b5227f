// The engine-only flavour ('tessera-db/kv', src/node-kv.js on pkg/tessera_kv_bg.wasm): the
// key-value API on a file, no SQL anywhere, and the same file format as the full flavour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Tessera as Full, kvEntry, tempDir, enc, dec, writeReferenceDataset, dump } from './helpers.js';

const kv = await import(kvEntry);
const { Tessera } = kv;

const SQL_MEMBERS = ['exec', 'prepare', 'transaction', 'inTransaction', 'defaultSafeIntegers'];

test('the kv flavour has no SQL: not on the database, not in the module, not in its wasm', () => {
  assert.notEqual(Tessera, Full);
  assert.equal(kv.default, Tessera);
  assert.equal('Statement' in kv, false);
  assert.equal(typeof kv.ReadTransaction, 'function');
  assert.equal(typeof kv.WriteTransaction, 'function');
  assert.equal(typeof kv.NodeFileDevice, 'function');
  const db = Tessera.memory();
  try {
    for (const m of SQL_MEMBERS) assert.equal(m in db, false, `db.${m} exists`);
    assert.throws(() => db.exec('CREATE TABLE t(a)'), TypeError);
    // The wasm object behind it comes from the engine-only build: its Database has no
    // prepare/exec (the full builds' does), so the kv entry did not load a full build.
    assert.equal(typeof db._db.prepare, 'undefined');
    assert.equal(typeof db._db.exec, 'undefined');
    // The key-value API works (and the full flavour, in the same process, still has SQL).
    db.put('t', 'k', 'v');
    assert.equal(dec(db.get('t', 'k')), 'v');
  } finally {
    db.close();
  }
  const full = Full.memory();
  try {
    for (const m of SQL_MEMBERS) assert.equal(m in full, true, `full db.${m} missing`);
    assert.equal(typeof full._db.prepare, 'function');
  } finally {
    full.close();
  }
});

test('kv flavour on a file: put/get/range/transactions, then reopen', () => {
  const t = tempDir();
  try {
    const path = t.file('kv.db');
    const db = Tessera.open(path);
    db.write((tx) => {
      for (let i = 0; i < 500; i++) tx.put('items', `k${String(i).padStart(4, '0')}`, `v${i}`);
      tx.put('bytes', enc('b'), new Uint8Array([0, 1, 255]));
    });
    assert.equal(dec(db.get('items', 'k0042')), 'v42');
    assert.deepEqual([...db.get('bytes', 'b')], [0, 1, 255]);
    assert.equal(db.get('items', 'nope'), undefined);
    db.read((rx) => {
      assert.equal(rx.count('items'), 500);
      assert.deepEqual([...rx.range('items', 'k0010', 'k0013')].map(([k, v]) => [dec(k), dec(v)]), [
        ['k0010', 'v10'],
        ['k0011', 'v11'],
        ['k0012', 'v12'],
      ]);
      assert.deepEqual([...rx.range('items', null, null, { reverse: true, limit: 2 })].map(([k]) => dec(k)), ['k0499', 'k0498']);
      const batches = [...rx.rangeBatches('items', null, null, { batchSize: 100 })];
      assert.equal(batches.length, 5);
      assert.deepEqual(rx.listTables(), ['bytes', 'items']);
    });

    // Transactions: abort on throw, one writer, snapshot isolation, durability 'none' + sync.
    assert.throws(() => db.write((tx) => { tx.put('items', 'k0000', 'changed'); throw new Error('boom'); }), /boom/);
    assert.equal(dec(db.get('items', 'k0000')), 'v0');
    const tx = db.beginWrite();
    assert.throws(() => db.beginWrite(), { code: 'WRITE_IN_PROGRESS' });
    tx.put('items', 'k0001', 'new');
    const rx = db.beginRead();
    tx.commit();
    assert.equal(dec(rx.get('items', 'k0001')), 'v1');
    rx.close();
    assert.equal(dec(db.get('items', 'k0001')), 'new');
    db.write((tx2) => {
      tx2.setDurability('none');
      tx2.put('lazy', 'k', 'v');
    });
    db.sync();
    assert.equal(db.delete('items', 'k0002'), true);
    assert.equal(db.write((tx3) => tx3.deleteTable('bytes')), true);
    assert.throws(() => Tessera.open(path), { code: 'LOCKED' });
    assert.equal(db.check().ok, true);
    db.close();
    assert.ok(fs.statSync(path).size > 0);

    const again = Tessera.open(path);
    try {
      assert.deepEqual(again.read((rx2) => rx2.listTables()), ['items', 'lazy']);
      assert.equal(again.read((rx2) => rx2.count('items')), 499);
      assert.equal(dec(again.get('items', 'k0001')), 'new');
      assert.equal(again.get('items', 'k0002'), undefined);
      assert.equal(dec(again.get('lazy', 'k')), 'v');
      assert.equal(again.check().ok, true);
    } finally {
      again.close();
    }
  } finally {
    t.cleanup();
  }
});

test('same file format: kv-written file opens in the full flavour (SQL too), and the reverse', () => {
  const t = tempDir();
  try {
    const mem = Tessera.memory();
    writeReferenceDataset(mem);
    const expected = dump(mem);
    mem.close();

    // kv → full: identical key-value contents; SQL works on the same file.
    const kvDb = Tessera.open(t.file('kv.db'));
    writeReferenceDataset(kvDb);
    // One process guards a file across both flavours (the open-file registry is shared).
    assert.throws(() => Full.open(t.file('kv.db')), { code: 'LOCKED' });
    kvDb.close();
    const full = Full.open(t.file('kv.db'));
    assert.equal(dump(full), expected);
    assert.equal(full.check().ok, true);
    full.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)');
    full.prepare('INSERT INTO notes(body) VALUES (?)').run('from the full flavour');
    full.put('items', 'added-by-full', 'yes');
    full.close();

    // Back in kv: the key-value data is intact (the SQL table lives in its own engine tables).
    const kvAgain = Tessera.open(t.file('kv.db'));
    assert.equal(dec(kvAgain.get('items', 'added-by-full')), 'yes');
    assert.equal(kvAgain.read((rx) => rx.count('items')), 2701);
    assert.equal(kvAgain.check().ok, true);
    kvAgain.close();
    const fullAgain = Full.open(t.file('kv.db'));
    assert.deepEqual(fullAgain.prepare('SELECT body FROM notes').pluck().all(), ['from the full flavour']);
    fullAgain.close();

    // full → kv.
    const fullDb = Full.open(t.file('full.db'));
    writeReferenceDataset(fullDb);
    fullDb.close();
    const kvRead = Tessera.open(t.file('full.db'));
    assert.equal(dump(kvRead), expected);
    kvRead.close();
  } finally {
    t.cleanup();
  }
});
