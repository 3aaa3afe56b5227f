import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tessera, dec } from './helpers.js';

const key = (i) => `k${String(i).padStart(5, '0')}`;

function fill(db, n) {
  db.write((tx) => {
    for (let i = 0; i < n; i++) tx.put('t', key(i), `v${i}`);
  });
}

const keys = (it) => [...it].map(([k]) => dec(k));

test('forward, reverse, bounds and limit', () => {
  const db = Tessera.memory();
  fill(db, 100);
  db.read((rx) => {
    assert.deepEqual(keys(rx.range('t', key(10), key(13))), [key(10), key(11), key(12)]);
    assert.deepEqual(keys(rx.range('t', key(10), key(13), { reverse: true })), [key(12), key(11), key(10)]);
    assert.deepEqual(keys(rx.range('t', null, key(2))), [key(0), key(1)]);
    assert.deepEqual(keys(rx.range('t', key(98))), [key(98), key(99)]);
    assert.deepEqual(keys(rx.range('t', undefined, undefined, { limit: 3 })), [key(0), key(1), key(2)]);
    assert.deepEqual(keys(rx.range('t', undefined, undefined, { reverse: true, limit: 2 })), [key(99), key(98)]);
    assert.deepEqual(keys(rx.range('t', undefined, undefined, { limit: 0 })), []);
    assert.deepEqual(keys(rx.range('t', key(50), key(50))), []);
    assert.deepEqual(keys(rx.range('missing')), []);
    const all = [...rx.entries('t')];
    assert.equal(all.length, 100);
    assert.equal(dec(all[42][1]), 'v42');
  });
  db.close();
});

test('batching across many rows', () => {
  const db = Tessera.memory();
  const n = 20_000;
  fill(db, n);
  db.read((rx) => {
    const sizes = [...rx.rangeBatches('t', undefined, undefined, { batchSize: 1000 })].map((b) => b.length);
    assert.equal(sizes.length, 20);
    assert.ok(sizes.every((s) => s === 1000));
    // Default batch size; every row once, in order.
    let i = 0;
    for (const [k, v] of rx.range('t')) {
      assert.equal(dec(k), key(i));
      assert.equal(dec(v), `v${i}`);
      i++;
    }
    assert.equal(i, n);
    // Reverse with a limit that is not a multiple of the batch size.
    const rev = [...rx.rangeBatches('t', undefined, undefined, { reverse: true, limit: 2500, batchSize: 1000 })];
    assert.deepEqual(rev.map((b) => b.length), [1000, 1000, 500]);
    assert.equal(dec(rev[0][0][0]), key(n - 1));
    assert.equal(dec(rev[2][499][0]), key(n - 2500));
  });
  db.close();
});

test('a range sees its snapshot, not later commits', () => {
  const db = Tessera.memory();
  fill(db, 10);
  const rx = db.beginRead();
  const it = rx.range('t', undefined, undefined, { batchSize: 3 });
  assert.equal(dec(it.next().value[0]), key(0));
  db.write((tx) => {
    tx.put('t', key(5) + 'x', 'new');
    tx.delete('t', key(7));
  });
  assert.equal([...it].length, 9);
  rx.close();
  assert.equal(db.read((rx2) => rx2.count('t')), 10);
  db.close();
});

test('range inside a write transaction sees its own changes', () => {
  const db = Tessera.memory();
  fill(db, 5);
  db.write((tx) => {
    tx.put('t', key(2) + 'a', 'x');
    tx.delete('t', key(4));
    assert.deepEqual(keys(tx.range('t')), [key(0), key(1), key(2), key(2) + 'a', key(3)]);
    assert.deepEqual(keys(tx.range('t', undefined, undefined, { reverse: true, limit: 2 })), [key(3), key(2) + 'a']);
  });
  db.close();
});
