import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tessera, tempDir, dec } from './helpers.js';

test('commit makes changes visible; abort discards them', () => {
  const db = Tessera.memory();
  const tx = db.beginWrite();
  tx.put('t', 'a', '1');
  assert.equal(dec(tx.get('t', 'a')), '1'); // read-your-writes
  assert.equal(db.get('t', 'a'), undefined); // not visible before commit
  tx.commit();
  assert.equal(dec(db.get('t', 'a')), '1');

  const tx2 = db.beginWrite();
  tx2.put('t', 'a', '2');
  tx2.put('t', 'b', '3');
  tx2.abort();
  assert.equal(dec(db.get('t', 'a')), '1');
  assert.equal(db.get('t', 'b'), undefined);
  db.close();
});

test('write(fn) aborts when fn throws', () => {
  const db = Tessera.memory();
  db.put('t', 'a', '1');
  assert.throws(
    () =>
      db.write((tx) => {
        tx.put('t', 'a', 'changed');
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(dec(db.get('t', 'a')), '1');
  db.put('t', 'b', '2'); // the writer is free again
  db.close();
});

test('one writer at a time; a finished transaction fails with CLOSED', () => {
  const db = Tessera.memory();
  const tx = db.beginWrite();
  assert.throws(() => db.beginWrite(), { code: 'WRITE_IN_PROGRESS' });
  tx.commit();
  assert.throws(() => tx.put('t', 'k', 'v'), { code: 'CLOSED' });
  assert.throws(() => tx.commit(), { code: 'CLOSED' });
  tx.abort(); // no-op
  const tx2 = db.beginWrite();
  tx2.abort();
  db.close();
});

test('snapshot isolation: a reader keeps its snapshot', () => {
  const db = Tessera.memory();
  db.put('t', 'a', '1');
  const rx = db.beginRead();
  db.put('t', 'a', '2');
  assert.equal(dec(rx.get('t', 'a')), '1');
  rx.close();
  assert.throws(() => rx.get('t', 'a'), { code: 'CLOSED' });
  assert.equal(dec(db.get('t', 'a')), '2');
  db.close();
});

test('an uncommitted transaction is rolled back by close and reopen', () => {
  const t = tempDir();
  try {
    let db = Tessera.open(t.file('r.db'));
    db.put('t', 'kept', '1');
    const tx = db.beginWrite();
    tx.put('t', 'lost', '2');
    db.close(); // aborts the open write transaction
    assert.throws(() => tx.put('t', 'x', 'y'), { code: 'CLOSED' });
    db = Tessera.open(t.file('r.db'));
    assert.equal(dec(db.get('t', 'kept')), '1');
    assert.equal(db.get('t', 'lost'), undefined);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('durability "none" then sync', () => {
  const t = tempDir();
  try {
    let db = Tessera.open(t.file('d.db'));
    db.write((tx) => {
      tx.setDurability('none');
      tx.put('t', 'a', '1');
    });
    db.sync();
    db.close();
    db = Tessera.open(t.file('d.db'));
    assert.equal(dec(db.get('t', 'a')), '1');
    db.close();
  } finally {
    t.cleanup();
  }
});
