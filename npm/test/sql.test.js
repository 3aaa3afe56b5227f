// The synchronous SQL API (src/sql.js): better-sqlite3-style exec/prepare/run/get/all/iterate,
// parameters, value mapping, transactions, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Tessera, NodeFileDevice, tempDir } from './helpers.js';

function people() {
  const db = Tessera.memory();
  db.exec(`
    CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, age INTEGER, score REAL, photo BLOB);
    INSERT INTO people(name, age, score) VALUES ('alice', 30, 1.5), ('bob', 25, NULL), ('carol', 41, 3.25);
  `);
  return db;
}

test('exec runs every statement and returns the database', () => {
  const db = people();
  assert.equal(db.exec('INSERT INTO people(name) VALUES (\'dave\'); DELETE FROM people WHERE name = \'bob\''), db);
  assert.deepEqual(db.prepare('SELECT name FROM people ORDER BY id').pluck().all(), ['alice', 'carol', 'dave']);
  db.exec('');
  db.exec('  ;  ');
  db.close();
});

test('run returns changes and lastInsertRowid', () => {
  const db = people();
  const ins = db.prepare('INSERT INTO people(name, age) VALUES (?, ?)');
  assert.deepEqual(ins.run('dave', 50), { changes: 1, lastInsertRowid: 4 });
  assert.deepEqual(db.prepare('UPDATE people SET age = age + 1 WHERE age > ?').run(26), { changes: 3, lastInsertRowid: 4 });
  assert.deepEqual(db.prepare('DELETE FROM people WHERE age IS NULL').run(), { changes: 0, lastInsertRowid: 4 });
  // Queries, DDL and transaction control change nothing.
  assert.equal(db.prepare('SELECT * FROM people').run().changes, 0);
  assert.equal(db.prepare('CREATE TABLE other(x)').run().changes, 0);
  assert.equal(db.prepare('BEGIN').run().changes, 0);
  assert.equal(db.prepare('COMMIT').run().changes, 0);
  // A rowid beyond 2^53 comes back as a bigint; safeIntegers makes it a bigint always.
  const big = db.prepare('INSERT INTO people(id, name) VALUES (?, ?)');
  assert.deepEqual(big.run(2n ** 60n, 'big'), { changes: 1, lastInsertRowid: 2n ** 60n });
  assert.deepEqual(ins.safeIntegers().run('erin', 1), { changes: 1, lastInsertRowid: 2n ** 60n + 1n });
  db.close();
});

test('get, all, iterate, pluck, raw, columns, source, reader', () => {
  const db = people();
  const q = db.prepare('SELECT id, name, age FROM people WHERE age > ? ORDER BY id');
  assert.equal(q.source, 'SELECT id, name, age FROM people WHERE age > ? ORDER BY id');
  assert.equal(q.reader, true);
  assert.equal(q.database, db);
  assert.deepEqual(q.columns(), ['id', 'name', 'age']);
  assert.deepEqual(q.get(26), { id: 1, name: 'alice', age: 30 });
  assert.equal(q.get(100), undefined);
  assert.deepEqual(q.all(26), [
    { id: 1, name: 'alice', age: 30 },
    { id: 3, name: 'carol', age: 41 },
  ]);
  assert.deepEqual(q.all(100), []);
  assert.deepEqual([...q.iterate(0)].map((r) => r.name), ['alice', 'bob', 'carol']);
  assert.deepEqual(q.raw().all(26), [[1, 'alice', 30], [3, 'carol', 41]]);
  assert.deepEqual(q.get(26), [1, 'alice', 30]);
  assert.deepEqual([...q.iterate(26)], [[1, 'alice', 30], [3, 'carol', 41]]);
  assert.deepEqual(q.raw(false).get(26), { id: 1, name: 'alice', age: 30 });
  assert.deepEqual(q.pluck().all(0), [1, 2, 3]);
  assert.equal(q.pluck().get(40), 3);
  q.pluck(false);

  const ins = db.prepare('INSERT INTO people(name) VALUES (?)');
  assert.equal(ins.reader, false);
  assert.deepEqual(ins.columns(), []);
  assert.throws(() => ins.get('x'), (e) => e instanceof TypeError && e.code === 'INVALID_ARGUMENT' && /run\(\)/.test(e.message));
  assert.throws(() => ins.all('x'), TypeError);
  assert.throws(() => ins.iterate('x'), TypeError);

  // RETURNING makes a write a reader.
  const ret = db.prepare('INSERT INTO people(name, age) VALUES (?, ?) RETURNING id, name AS who');
  assert.equal(ret.reader, true);
  assert.deepEqual(ret.get('dave', 60), { id: 4, who: 'dave' });
  assert.deepEqual(ret.columns(), ['id', 'who']);
  assert.deepEqual(ret.all('erin', 61), [{ id: 5, who: 'erin' }]);
  assert.deepEqual(db.prepare('DELETE FROM people WHERE age >= 60 RETURNING name').pluck().all(), ['dave', 'erin']);

  // Duplicate column names: the last one wins (as better-sqlite3); raw() keeps all.
  const dup = db.prepare('SELECT 1 AS a, 2 AS a, 3 AS b');
  assert.deepEqual(dup.get(), { a: 2, b: 3 });
  assert.deepEqual(dup.raw().get(), [1, 2, 3]);
  // Column names follow the schema when it changes.
  const star = db.prepare('SELECT * FROM people WHERE id = 1');
  assert.deepEqual(Object.keys(star.get()), ['id', 'name', 'age', 'score', 'photo']);
  db.exec('ALTER TABLE people ADD COLUMN email TEXT');
  assert.deepEqual(Object.keys(star.get()), ['id', 'name', 'age', 'score', 'photo', 'email']);
  db.close();
});

test('parameters: positional, arrays, named with each prefix, mixed', () => {
  const db = Tessera.memory();
  const echo = (sql, ...args) => db.prepare(sql).raw().get(...args);
  assert.deepEqual(echo('SELECT ?, ?', 1, 'a'), [1, 'a']);
  assert.deepEqual(echo('SELECT ?, ?', [1, 'a']), [1, 'a']);
  assert.deepEqual(echo('SELECT ?, ?, ?', [1], 'a', [true]), [1, 'a', 1]);
  assert.deepEqual(echo('SELECT ?2, ?1', 'first', 'second'), ['second', 'first']);
  assert.deepEqual(echo('SELECT :id, @name, $x', { id: 1, name: 'n', x: null }), [1, 'n', null]);
  assert.deepEqual(echo('SELECT :a, :a, @a', { a: 7 }), [7, 7, 7]);
  assert.deepEqual(echo('SELECT ?, :name, ?', 1, { name: 'mid' }, 3), [1, 'mid', 3]);
  assert.deepEqual(echo('SELECT ?, :name', [1], { name: 'x' }), [1, 'x']);
  // Named parameters without an object bind by position (as SQLite's numbered binding).
  assert.deepEqual(echo('SELECT :a, :b', 1, 2), [1, 2]);
  // A named value that is present but undefined binds NULL.
  assert.deepEqual(echo('SELECT :a', { a: undefined }), [null]);
  assert.deepEqual(echo('SELECT 1'), [1]);

  const bad = (f, Type, re) =>
    assert.throws(f, (e) => e instanceof Type && e.code === 'INVALID_ARGUMENT' && re.test(e.message));
  bad(() => echo('SELECT ?, ?', 1), RangeError, /too few/);
  bad(() => echo('SELECT ?', 1, 2), RangeError, /too many/);
  bad(() => echo('SELECT 1', 1), RangeError, /too many/);
  bad(() => echo('SELECT :id', { other: 1 }), RangeError, /missing named parameter "id"/);
  bad(() => echo('SELECT :a, :b', { a: 1 }, { b: 2 }), TypeError, /one object/);
  bad(() => echo('SELECT ?', Symbol('s')), TypeError, /symbol/);
  bad(() => echo('SELECT ?', () => 1), TypeError, /function/);
  bad(() => echo('SELECT ?, ?', 1, new Date()), TypeError, /parameter 2.*Date/);
  bad(() => echo('SELECT ?', 2n ** 63n), RangeError, /64-bit/);
  bad(() => echo('SELECT ?', -(2n ** 63n) - 1n), RangeError, /64-bit/);
  // A bad argument never poisons the instance.
  assert.deepEqual(echo('SELECT ?', 5), [5]);
  db.close();
});

test('value mapping: integers, bigint, safeIntegers', () => {
  const db = Tessera.memory();
  const one = (sql, ...args) => db.prepare(sql).pluck().get(...args);
  assert.equal(one('SELECT 9007199254740991'), 2 ** 53 - 1);
  assert.equal(one('SELECT -9007199254740991'), -(2 ** 53 - 1));
  assert.equal(one('SELECT 9007199254740992'), 2n ** 53n);
  assert.equal(one('SELECT -9007199254740992'), -(2n ** 53n));
  assert.equal(one('SELECT -9223372036854775808'), -(2n ** 63n));
  assert.equal(one('SELECT ?', 2n ** 63n - 1n), 2n ** 63n - 1n);
  assert.equal(one('SELECT ?', -(2n ** 63n)), -(2n ** 63n));
  assert.equal(one('SELECT ?', 5n), 5);
  assert.equal(one('SELECT ?', 2 ** 31), 2 ** 31);
  assert.equal(one('SELECT ?', -(2 ** 31) - 1), -(2 ** 31) - 1);
  assert.equal(one('SELECT typeof(?)', 1), 'integer');
  assert.equal(one('SELECT typeof(?)', 1.0), 'integer'); // integral numbers bind as INTEGER
  assert.equal(one('SELECT typeof(?)', 1.5), 'real');
  assert.equal(one('SELECT typeof(?)', 1e300), 'real'); // integral but beyond i64
  assert.equal(one('SELECT typeof(?)', 2 ** 62), 'integer');
  assert.equal(one('SELECT ?', 2 ** 62), 2n ** 62n);
  assert.equal(one('SELECT typeof(?)', 5n), 'integer');
  assert.equal(one('SELECT ?', true), 1);
  assert.equal(one('SELECT ?', false), 0);

  const s = db.prepare('SELECT 1 AS a, 9007199254740993 AS b, 2.5 AS c, NULL AS d').safeIntegers();
  assert.deepEqual(s.get(), { a: 1n, b: 9007199254740993n, c: 2.5, d: null });
  assert.deepEqual(s.safeIntegers(false).get(), { a: 1, b: 9007199254740993n, c: 2.5, d: null });
  assert.deepEqual([...s.safeIntegers().raw().iterate()], [[1n, 9007199254740993n, 2.5, null]]);

  // defaultSafeIntegers and the open option apply to statements prepared afterwards.
  const before = db.prepare('SELECT 1');
  db.defaultSafeIntegers();
  assert.equal(db.prepare('SELECT 1').pluck().get(), 1n);
  assert.equal(before.pluck().get(), 1);
  db.defaultSafeIntegers(false);
  assert.equal(db.prepare('SELECT 1').pluck().get(), 1);
  db.close();
  const db2 = Tessera.memory({ safeIntegers: true });
  assert.equal(db2.prepare('SELECT 42').pluck().get(), 42n);
  assert.equal(db2.prepare('SELECT 42').safeIntegers(false).pluck().get(), 42);
  db2.close();
});

test('value mapping: reals, NaN, Infinity, -0', () => {
  const db = Tessera.memory();
  const one = (sql, ...args) => db.prepare(sql).pluck().get(...args);
  assert.equal(one('SELECT ?', 0.1), 0.1);
  assert.equal(one('SELECT 1.0'), 1);
  assert.equal(one('SELECT typeof(1.0)'), 'real');
  // NaN binds as NULL (as sqlite3_bind_double does).
  assert.equal(one('SELECT ?', NaN), null);
  assert.equal(one('SELECT typeof(?)', NaN), 'null');
  assert.equal(one('SELECT ?', Infinity), Infinity);
  assert.equal(one('SELECT ?', -Infinity), -Infinity);
  assert.equal(one('SELECT typeof(?)', Infinity), 'real');
  // -0 is an integral number: it binds as INTEGER 0.
  assert.equal(one('SELECT typeof(?)', -0), 'integer');
  assert.ok(Object.is(one('SELECT ?', -0), 0));
  assert.ok(Object.is(one('SELECT -0.0'), -0));
  assert.equal(one('SELECT ?', Number.MAX_VALUE), Number.MAX_VALUE);
  assert.equal(one('SELECT ?', Number.MIN_VALUE), Number.MIN_VALUE);
  db.close();
});

test('value mapping: text, blobs, null', () => {
  const db = Tessera.memory();
  db.exec('CREATE TABLE v(id INTEGER PRIMARY KEY, x)');
  const ins = db.prepare('INSERT INTO v(x) VALUES (?)');
  const get = db.prepare('SELECT x, typeof(x) AS t, length(x) AS n FROM v WHERE id = ?');
  const roundTrip = (value) => get.get(ins.run(value).lastInsertRowid);

  for (const s of ['', 'a', 'héllo wörld', '日本語テキスト', 'emoji 😀 and 𝄞 (astral)', 'nul\0inside\0', 'x'.repeat(100_000), 'é'.repeat(40), 'a'.repeat(31) + 'é']) {
    const r = roundTrip(s);
    assert.equal(r.x, s);
    assert.equal(r.t, 'text');
  }
  assert.equal(roundTrip('😀').n, 1); // length() counts characters
  // A lone surrogate cannot be UTF-8: it becomes U+FFFD (as TextEncoder does).
  assert.equal(roundTrip('a\ud800b').x, 'a\ufffdb');

  const bytes = new Uint8Array([0, 1, 2, 255]);
  let r = roundTrip(bytes);
  assert.ok(r.x instanceof Uint8Array);
  assert.deepEqual([...r.x], [0, 1, 2, 255]);
  assert.equal(r.t, 'blob');
  // Empty blob: an empty Uint8Array, not NULL.
  r = roundTrip(new Uint8Array(0));
  assert.ok(r.x instanceof Uint8Array);
  assert.equal(r.x.length, 0);
  assert.equal(r.t, 'blob');
  // Buffer, ArrayBuffer, other views and subarrays bind their bytes.
  assert.deepEqual([...roundTrip(Buffer.from('hi')).x], [104, 105]);
  assert.deepEqual([...roundTrip(new Uint8Array([9, 8, 7]).buffer).x], [9, 8, 7]);
  assert.deepEqual([...roundTrip(new Uint8Array([1, 2, 3, 4]).subarray(1, 3)).x], [2, 3]);
  assert.deepEqual([...roundTrip(new Uint16Array([0x0201])).x], [1, 2]);
  const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  assert.deepEqual(roundTrip(big).x, big);
  // Results are copies: changing one does not change the next read.
  r = roundTrip(new Uint8Array([5, 5]));
  r.x[0] = 0;
  assert.deepEqual([...get.get(ins.run(new Uint8Array([5, 5])).lastInsertRowid).x], [5, 5]);
  // null and undefined bind NULL.
  assert.equal(roundTrip(null).t, 'null');
  assert.equal(roundTrip(undefined).x, null);
  db.close();
});

test('iterate: streams in batches; break releases the statement', () => {
  const db = Tessera.memory();
  db.exec('CREATE TABLE n(i INTEGER PRIMARY KEY, s TEXT)');
  const ins = db.prepare('INSERT INTO n VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 5000; i++) ins.run(i, `row ${i}`);
  })();
  const q = db.prepare('SELECT i, s FROM n ORDER BY i');
  let n = 0;
  for (const row of q.iterate()) {
    assert.equal(row.i, n);
    assert.equal(row.s, `row ${n}`);
    n++;
  }
  assert.equal(n, 5000);

  // While iterating, the statement is busy; other statements run (outside a transaction the
  // iteration reads its own snapshot).
  const it = q.iterate();
  assert.equal(it.next().value.i, 0);
  assert.throws(() => q.get(), { code: 'BUSY' });
  assert.throws(() => q.iterate(), { code: 'BUSY' });
  ins.run(10_000, 'added during iteration');
  assert.equal(db.prepare('SELECT count(*) FROM n').pluck().get(), 5001);
  let rest = 1;
  for (const _ of it) rest++;
  assert.equal(rest, 5000); // the snapshot taken when iterate() started
  assert.equal(q.all().length, 5001); // released once done

  // Early break (and return()) release it too.
  for (const row of q.iterate()) {
    if (row.i === 3) break;
  }
  assert.equal(q.get().i, 0);
  const it2 = q.iterate();
  it2.next();
  assert.deepEqual(it2.return(), { value: undefined, done: true });
  assert.deepEqual(it2.next(), { value: undefined, done: true });
  assert.equal(q.get().i, 0);
  // An empty result.
  assert.deepEqual([...db.prepare('SELECT * FROM n WHERE i < 0').iterate()], []);
  db.close();
});

test('iterate inside a transaction: the connection is busy until it ends', () => {
  const db = Tessera.memory();
  db.exec('CREATE TABLE n(i INTEGER PRIMARY KEY)');
  const ins = db.prepare('INSERT INTO n VALUES (?)');
  for (let i = 0; i < 100; i++) ins.run(i);
  const q = db.prepare('SELECT i FROM n ORDER BY i').pluck();
  db.exec('BEGIN');
  const it = q.iterate();
  assert.equal(it.next().value, 0);
  assert.throws(() => ins.run(1000), (e) => e.code === 'BUSY' && /busy/.test(e.message));
  assert.throws(() => db.exec('COMMIT'), { code: 'BUSY' });
  assert.throws(() => db.prepare('SELECT 1').get(), { code: 'BUSY' });
  let n = 1;
  for (const _ of it) n++;
  assert.equal(n, 100);
  ins.run(1000); // free again
  // A break inside the transaction frees it as well.
  for (const i of q.iterate()) if (i === 5) break;
  ins.run(1001);
  db.exec('COMMIT');
  assert.equal(db.prepare('SELECT count(*) FROM n').pluck().get(), 102);
  db.close();
});

test('transaction(): commit, rollback, nesting, arguments', () => {
  const db = people();
  const ins = db.prepare('INSERT INTO people(name, age) VALUES (?, ?)');
  const count = db.prepare('SELECT count(*) FROM people').pluck();
  const addMany = db.transaction((rows) => {
    assert.equal(db.inTransaction, true);
    for (const [name, age] of rows) ins.run(name, age);
    return rows.length;
  });
  assert.equal(db.inTransaction, false);
  assert.equal(addMany([['d', 1], ['e', 2]]), 2);
  assert.equal(db.inTransaction, false);
  assert.equal(count.get(), 5);
  // Throwing rolls everything back and re-throws.
  assert.throws(() => addMany([['f', 1], ['alice', 2]]), (e) => e.code === 'CONSTRAINT' && /UNIQUE/.test(e.message));
  assert.equal(db.inTransaction, false);
  assert.equal(count.get(), 5);
  const boom = db.transaction(() => {
    ins.run('g', 1);
    throw new Error('boom');
  });
  assert.throws(() => boom(), /boom/);
  assert.equal(count.get(), 5);
  // Nested: runs inside the outer transaction (no savepoint); the outer one decides.
  const outer = db.transaction(() => {
    addMany([['h', 1]]);
    assert.equal(db.inTransaction, true);
    throw new Error('outer fails');
  });
  assert.throws(() => outer(), /outer fails/);
  assert.equal(count.get(), 5);
  const outerOk = db.transaction(() => addMany([['h', 1], ['i', 2]]));
  assert.equal(outerOk(), 2);
  assert.equal(count.get(), 7);
  // `this` and the variants pass through.
  const ctx = { n: 3 };
  assert.equal(db.transaction(function () { return this.n; }).call(ctx), 3);
  assert.equal(addMany.immediate([['j', 1]]), 1);
  // A Promise-returning function is refused (and rolled back).
  assert.throws(() => db.transaction(async () => ins.run('k', 1))(), (e) => e instanceof TypeError && /Promise/.test(e.message));
  assert.equal(db.inTransaction, false);
  assert.equal(count.get(), 8);
  assert.throws(() => db.transaction('nope'), TypeError);
  // Manual BEGIN/COMMIT, and inTransaction.
  db.exec('BEGIN');
  assert.equal(db.inTransaction, true);
  ins.run('l', 1);
  db.exec('ROLLBACK');
  assert.equal(db.inTransaction, false);
  assert.equal(count.get(), 8);
  db.close();
});

test('errors carry code, SQL message and position; the database stays usable', () => {
  const db = people();
  const syntax = (sql, offset, line, column) =>
    assert.throws(
      () => db.prepare(sql),
      (e) => e instanceof Error && e.code === 'SQL_SYNTAX' && e.offset === offset && e.line === line && e.column === column && /syntax error/.test(e.message),
    );
  syntax('SELEC 1', 0, 1, 1);
  syntax('SELECT 1 +', 10, 1, 11);
  syntax('SELECT *\nFROM people\nWHERE id = = 1', 32, 3, 12);
  syntax('SELECT \'é\' + + ,', 16, 1, 16); // offset in UTF-8 bytes (é is 2), column in characters
  assert.throws(() => db.exec('CREATE TABLE x(a);\nSELECT FROM'), (e) => e.code === 'SQL_SYNTAX' && e.line === 2);
  assert.throws(() => db.prepare('SELECT nope FROM people').get(), (e) => e.code === 'SQL' && /no such column: nope/.test(e.message) && e.offset === undefined);
  // prepare() parses; names are resolved when the statement first runs.
  const later = db.prepare('SELECT * FROM nowhere');
  assert.throws(() => later.all(), (e) => e.code === 'SQL' && /no such table: nowhere/.test(e.message));
  assert.throws(() => later.columns(), { code: 'SQL' });
  assert.throws(() => db.exec('SELECT * FROM nowhere'), { code: 'SQL' });
  assert.throws(() => db.prepare('INSERT INTO people(name) VALUES (?)').run(null), (e) => e.code === 'CONSTRAINT' && /NOT NULL/.test(e.message));
  assert.throws(() => db.prepare('INSERT INTO people(name) VALUES (?)').run('alice'), (e) => e.code === 'CONSTRAINT' && /UNIQUE/.test(e.message));
  assert.throws(() => db.prepare('SELECT 1; SELECT 2'), { code: 'SQL' });
  assert.throws(() => db.prepare(''), { code: 'SQL' });
  assert.throws(() => db.prepare(42), (e) => e instanceof TypeError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => db.exec(null), TypeError);
  assert.throws(() => db.exec('COMMIT'), (e) => e.code === 'SQL' && /no transaction/.test(e.message));
  // A failing statement inside a transaction undoes only itself.
  db.exec('BEGIN');
  db.prepare('INSERT INTO people(name) VALUES (?)').run('dave');
  assert.throws(() => db.prepare('INSERT INTO people(name) VALUES (?)').run('alice'), { code: 'CONSTRAINT' });
  db.exec('COMMIT');
  assert.deepEqual(db.prepare('SELECT name FROM people ORDER BY id').pluck().all(), ['alice', 'bob', 'carol', 'dave']);
  db.close();
});

test('finalize, close, and the KV API alongside SQL', () => {
  const db = Tessera.memory();
  db.exec('CREATE TABLE t(a)');
  const st = db.prepare('SELECT a FROM t');
  const it = st.iterate();
  st.finalize();
  st.finalize(); // idempotent
  assert.deepEqual(it.next(), { value: undefined, done: true });
  assert.throws(() => st.get(), { code: 'CLOSED' });
  assert.throws(() => st.columns(), { code: 'CLOSED' });

  // The key-value API works on the same database (SQL tables live in their own engine tables).
  db.put('kv', 'k', 'v');
  db.prepare('INSERT INTO t VALUES (?)').run(1);
  assert.equal(new TextDecoder().decode(db.get('kv', 'k')), 'v');
  // One writer: a KV write transaction and a SQL transaction exclude each other.
  const tx = db.beginWrite();
  assert.throws(() => db.prepare('INSERT INTO t VALUES (2)').run(), { code: 'WRITE_IN_PROGRESS' });
  tx.abort();
  db.exec('BEGIN');
  assert.throws(() => db.beginWrite(), { code: 'WRITE_IN_PROGRESS' });
  db.exec('ROLLBACK');

  const add = db.prepare('INSERT INTO t VALUES (?)');
  for (let i = 2; i <= 1000; i++) add.run(i);
  const live = db.prepare('SELECT a FROM t');
  const open = live.iterate();
  assert.deepEqual(open.next().value, { a: 1 });
  db.close(); // ends the iteration's cursor
  assert.throws(() => live.get(), { code: 'CLOSED' });
  assert.throws(() => db.prepare('SELECT 1'), { code: 'CLOSED' });
  assert.throws(() => db.exec('SELECT 1'), { code: 'CLOSED' });
  assert.throws(() => db.inTransaction, { code: 'CLOSED' });
  // Rows of the batch already read are still delivered; then the iteration fails.
  let seen = 1;
  assert.throws(() => {
    for (const _ of open) seen++;
  }, { code: 'CLOSED' });
  assert.ok(seen > 1 && seen < 1000);
  assert.deepEqual(open.next(), { value: undefined, done: true });
});

test('SQL data persists across reopening a file', () => {
  const t = tempDir();
  try {
    let db = Tessera.open(t.file('sql.db'));
    db.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, data BLOB)');
    db.exec('CREATE INDEX notes_body ON notes(body)');
    const ins = db.prepare('INSERT INTO notes(body, data) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 1000; i++) ins.run(`note ${i} ✓`, new Uint8Array([i & 0xff, i >> 8]));
    })();
    db.close();

    db = Tessera.open(t.file('sql.db'));
    assert.equal(db.prepare('SELECT count(*) FROM notes').pluck().get(), 1000);
    const r = db.prepare('SELECT id, body, data FROM notes WHERE body = ?').get('note 999 ✓');
    assert.equal(r.id, 1000);
    assert.deepEqual([...r.data], [999 & 0xff, 999 >> 8]);
    assert.equal(db.check().ok, true);
    db.close();
  } finally {
    t.cleanup();
  }
});

test('PRAGMA synchronous: FULL syncs every commit, NORMAL none; foreign_keys reads OFF', () => {
  const t = tempDir();
  let fd = null;
  try {
    fd = fs.openSync(t.file('pragma.db'), 'w+');
    class CountingDevice extends NodeFileDevice {
      syncs = 0;
      sync() {
        this.syncs++;
        super.sync();
      }
    }
    const dev = new CountingDevice(fd);
    const db = Tessera.openDevice(dev);
    db.exec('CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)');
    const ins = db.prepare('INSERT INTO t(b) VALUES (?)');
    const mode = db.prepare('PRAGMA synchronous');
    assert.equal(mode.reader, true);
    assert.deepEqual(mode.get(), { synchronous: 2 });
    let before = dev.syncs;
    for (let i = 0; i < 20; i++) ins.run(`full ${i}`);
    assert.equal(dev.syncs - before, 20);
    const set = db.prepare('PRAGMA synchronous = NORMAL');
    assert.equal(set.reader, false);
    assert.deepEqual(set.run(), { changes: 0, lastInsertRowid: 20 });
    assert.equal(mode.pluck().get(), 1);
    before = dev.syncs;
    for (let i = 0; i < 20; i++) ins.run(`normal ${i}`);
    db.transaction(() => ins.run('in a transaction'))();
    assert.equal(dev.syncs, before);
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 41);
    assert.equal(db.prepare('PRAGMA foreign_keys').pluck().get(), 0);
    assert.throws(() => db.exec('PRAGMA synchronous = maybe'), { code: 'SQL', message: /expected OFF, NORMAL, FULL or EXTRA/ });
    assert.throws(() => db.exec('PRAGMA journal_mode = WAL'), { message: /unsupported pragma: journal_mode/ });
    db.close(); // makes the NORMAL commits durable
    assert.ok(dev.syncs > before);
    fs.closeSync(fd);
    fd = null;
    const again = Tessera.open(t.file('pragma.db'));
    assert.equal(again.prepare('SELECT count(*) FROM t').pluck().get(), 41);
    again.close();
  } finally {
    if (fd !== null) fs.closeSync(fd);
    t.cleanup();
  }
});

test('row objects: odd column names', () => {
  const db = Tessera.memory();
  const row = db.prepare('SELECT 1 AS "__proto__", 2 AS "a""b", 3 AS "", 4 AS "constructor", 5 AS "x y", 6 AS "ü"').get();
  assert.deepEqual(Object.keys(row), ['__proto__', 'a"b', '', 'constructor', 'x y', 'ü']);
  assert.equal(Object.getPrototypeOf(row), Object.prototype);
  assert.equal(row.__proto__, 1); // an own property, not the prototype
  assert.deepEqual(Object.values(row), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(db.prepare('SELECT 1 AS "}); throw 1; ({"').get(), { '}); throw 1; ({': 1 });
  db.close();
});

test('random() is seeded per process, CURRENT_TIMESTAMP reads the clock', async () => {
  // Each child process opens its own module instance: the same first random() in two of
  // them would mean a fixed seed (issue 17: UNIQUE DEFAULT (hex(randomblob(16))) failing in
  // the second process).
  const { execFileSync } = await import('node:child_process');
  const entry = process.env.TESSERA_DB_ENTRY
    ? (await import('node:url')).pathToFileURL(process.env.TESSERA_DB_ENTRY).href
    : new URL('../src/node.js', import.meta.url).href;
  const script = `const { Tessera } = await import(${JSON.stringify(entry)});
    const db = Tessera.memory();
    console.log(db.prepare('SELECT hex(randomblob(16))').pluck().get());`;
  const draw = () => execFileSync(process.execPath, ['--input-type=module', '-e', script]).toString().trim();
  const [a, b] = [draw(), draw()];
  assert.match(a, /^[0-9A-F]{32}$/);
  assert.notEqual(a, b);
  const db = Tessera.memory();
  db.exec('CREATE TABLE t(a, at DEFAULT CURRENT_TIMESTAMP)');
  db.prepare('INSERT INTO t(a) VALUES (1)').run();
  const at = db.prepare('SELECT at FROM t').pluck().get();
  assert.match(at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const off = Math.abs(Date.parse(at.replace(' ', 'T') + 'Z') - Date.now());
  assert.ok(off < 120000, `CURRENT_TIMESTAMP ${at} is ${off} ms from the clock`);
  db.close();
});
