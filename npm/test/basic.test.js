import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Tessera, tempDir, enc, dec } from './helpers.js';

test('CRUD with strings and bytes', () => {
  const t = tempDir();
  try {
    const db = Tessera.open(t.file('a.db'));
    db.put('users', 'alice', 'admin');
    db.put('users', enc('bob'), new Uint8Array([1, 2, 3]));
    db.put('users', Buffer.from('carol'), 'x');
    assert.equal(dec(db.get('users', 'alice')), 'admin');
    assert.deepEqual([...db.get('users', 'bob')], [1, 2, 3]);
    assert.equal(db.read((rx) => rx.getString('users', 'carol')), 'x');
    assert.equal(db.get('users', 'nobody'), undefined);
    assert.equal(db.get('no-such-table', 'k'), undefined);
    db.put('users', 'alice', 'guest'); // replace
    assert.equal(dec(db.get('users', 'alice')), 'guest');
    assert.equal(db.delete('users', 'alice'), true);
    assert.equal(db.delete('users', 'alice'), false);
    assert.equal(db.get('users', 'alice'), undefined);
    assert.equal(db.read((rx) => rx.count('users')), 2);
    assert.deepEqual(db.read((rx) => rx.listTables()), ['users']);
    db.write((tx) => assert.equal(tx.deleteTable('users'), true));
    assert.deepEqual(db.read((rx) => rx.listTables()), []);
    const check = db.check();
    assert.equal(check.ok, true, JSON.stringify(check.errors));
    db.close();
  } finally {
    t.cleanup();
  }
});

test('memory database', () => {
  const db = Tessera.memory();
  db.put('t', 'k', 'v');
  assert.equal(dec(db.get('t', 'k')), 'v');
  assert.equal(db.stats().pageSize, 4096);
  db.close();
});

test('reopen after close: data persists on disk', () => {
  const t = tempDir();
  try {
    let db = Tessera.open(t.file('p.db'));
    db.write((tx) => {
      for (let i = 0; i < 500; i++) tx.put('t', `k${String(i).padStart(4, '0')}`, `v${i}`);
    });
    db.close();
    db.close(); // idempotent
    assert.ok(fs.statSync(t.file('p.db')).size > 0);
    db = Tessera.open(t.file('p.db'));
    assert.equal(db.read((rx) => rx.count('t')), 500);
    assert.equal(dec(db.get('t', 'k0123')), 'v123');
    assert.equal(db.check().ok, true);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('options: page size is kept by the file', () => {
  const t = tempDir();
  try {
    let db = Tessera.open(t.file('ps.db'), { pageSize: 16384 });
    db.put('t', 'k', 'v');
    assert.equal(db.pageSize, 16384);
    db.close();
    db = Tessera.open(t.file('ps.db'));
    assert.equal(db.pageSize, 16384);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('large values (3 MB) round-trip and survive reopen', () => {
  const t = tempDir();
  try {
    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
    let db = Tessera.open(t.file('big.db'));
    db.put('blobs', 'big', big);
    assert.deepEqual(db.get('blobs', 'big'), big);
    db.close();
    db = Tessera.open(t.file('big.db'));
    assert.deepEqual(db.get('blobs', 'big'), big);
    const [[k, v]] = [...db.read((rx) => [...rx.range('blobs')])];
    assert.equal(dec(k), 'big');
    assert.equal(v.length, big.length);
    assert.equal(db.check().ok, true);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('stats and check', () => {
  const db = Tessera.memory();
  db.put('t', 'a', '1');
  const s = db.stats();
  for (const k of ['commits', 'syncs', 'pageCount', 'pageSize', 'cacheHits']) assert.equal(typeof s[k], 'number', k);
  assert.ok(s.commits >= 1);
  const c = db.check();
  assert.equal(c.ok, true);
  assert.equal(c.tables, 1);
  assert.equal(c.entries, 1);
  assert.deepEqual(c.errors, []);
  db.close();
});
