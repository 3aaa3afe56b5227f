// The SQL API in the browser: the Promise API on the main thread (statements live in the worker)
// and the synchronous API in a user's own Worker ('tessera-db/opfs'), with persistence.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, dbName } from './helpers.js';

const server = await startServer();
after(() => server.close());

test('main thread: exec, prepare, run/get/all/iterate, toggles, value mapping, errors', async () => {
  const browser = await launch();
  try {
    const page = await openPage(await browser.newContext(), server.pageUrl);
    const r = await page.evaluate(async (name) => {
      const show = (v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes:${[...v].join(',')}` : Object.is(v, -0) ? '-0' : v);
      const showRow = (row) => (Array.isArray(row) ? row.map(show) : row && typeof row === 'object' ? Object.fromEntries(Object.entries(row).map(([k, v]) => [k, show(v)])) : show(row));
      const err = (e) => ({ code: e.code, message: e.message, offset: e.offset, line: e.line, column: e.column, type: e.constructor.name });
      const out = {};
      const db = await Tessera.open(name);
      out.execReturns = (await db.exec('CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT UNIQUE, age INTEGER, photo BLOB)')) === db;
      const ins = await db.prepare('INSERT INTO p(name, age, photo) VALUES (?, ?, ?)');
      out.source = ins.source;
      out.reader = ins.reader;
      out.run = showRow(await ins.run('alice', 30, new Uint8Array([1, 2, 3])));
      out.runArray = showRow(await ins.run(['bob', 25, null]));
      const named = await db.prepare('INSERT INTO p(name, age) VALUES (:name, @age)');
      out.runNamed = showRow(await named.run({ name: 'carol', age: 41 }));
      const q = await db.prepare('SELECT id, name, age, photo FROM p WHERE age > $min ORDER BY id');
      out.columns = await q.columns();
      out.get = showRow(await q.get({ min: 26 }));
      out.getNone = await q.get({ min: 100 });
      out.all = (await q.all({ min: 0 })).map(showRow);
      out.raw = (await q.raw().all({ min: 26 })).map(showRow);
      out.pluck = await q.pluck().all({ min: 0 });
      q.pluck(false);
      const iterated = [];
      for await (const row of q.iterate({ min: 0 })) iterated.push(row.name);
      out.iterated = iterated;

      // Value mapping.
      const one = async (sql, ...args) => show(await (await db.prepare(sql)).pluck().get(...args));
      out.values = {
        maxSafe: await one('SELECT 9007199254740991'),
        beyond: await one('SELECT 9007199254740992'),
        min64: await one('SELECT -9223372036854775808'),
        bigParam: await one('SELECT ?', 2n ** 63n - 1n),
        nan: await one('SELECT ?', NaN),
        inf: await one('SELECT ?', Infinity),
        negZero: await one('SELECT -0.0'),
        emptyBlob: await one('SELECT ?', new Uint8Array(0)),
        arrayBuffer: await one('SELECT ?', new Uint8Array([7, 8]).buffer),
        emptyText: await one("SELECT ''"),
        unicode: await one('SELECT ?', 'naïve 日本 😀 𝄞 nul\0end'),
        bool: await one('SELECT ?', true),
      };
      const safe = (await db.prepare('SELECT 1 AS a, 2.5 AS b')).safeIntegers();
      out.safe = showRow(await safe.get());
      db.defaultSafeIntegers();
      out.defaultSafe = await one('SELECT 7');
      db.defaultSafeIntegers(false);

      // Many rows through iterate (several batches) and an early break.
      await db.exec('CREATE TABLE n(i INTEGER PRIMARY KEY)');
      const addN = await db.prepare('INSERT INTO n VALUES (?)');
      const fill = db.transaction(async (count) => {
        for (let i = 0; i < count; i++) await addN.run(i);
        return count;
      });
      out.fillReturns = await fill(2500);
      const all = await db.prepare('SELECT i FROM n ORDER BY i');
      let sum = 0;
      let rows = 0;
      for await (const row of all.iterate()) {
        sum += row.i;
        rows++;
      }
      out.iterSum = sum;
      out.iterRows = rows;
      for await (const row of all.iterate()) if (row.i === 5) break;
      out.afterBreak = (await all.get()).i;

      // Transactions: rollback on throw, nesting, inTransaction.
      const count = await db.prepare('SELECT count(*) FROM n');
      count.pluck();
      out.inTxBefore = db.inTransaction;
      try {
        await db.transaction(async () => {
          await addN.run(10000);
          out.inTxDuring = db.inTransaction;
          await db.transaction(async () => addN.run(10001))(); // nested: runs inside
          throw new Error('boom');
        })();
      } catch (e) {
        out.txError = e.message;
      }
      out.inTxAfter = db.inTransaction;
      out.countAfterRollback = await count.get();

      // Errors.
      try { await db.prepare('SELECT * FROM p WHERE'); } catch (e) { out.syntax = err(e); }
      try { await db.exec('SELECT 1;\n  SELEC 2'); } catch (e) { out.syntax2 = err(e); }
      try { await ins.run('alice', 1, null); } catch (e) { out.constraint = err(e); }
      try { await (await db.prepare('SELECT nope FROM p')).all(); } catch (e) { out.sqlError = err(e); }
      try { await ins.run(1); } catch (e) { out.tooFew = err(e); }
      try { await q.get({ other: 1 }); } catch (e) { out.missing = err(e); }
      try { await ins.run(Symbol('x'), 1, 2); } catch (e) { out.symbol = err(e); }
      try { await ins.run(new Date(), 1, 2); } catch (e) { out.date = err(e); }
      try { await ins.run(2n ** 64n, 1, 2); } catch (e) { out.bigRange = err(e); }
      out.stillWorks = await one('SELECT count(*) FROM p');

      // finalize.
      await q.finalize();
      await q.finalize();
      try { await q.get({ min: 0 }); } catch (e) { out.finalized = e.code; }
      await db.close();
      return out;
    }, dbName('sql'));

    assert.equal(r.execReturns, true);
    assert.equal(r.source, 'INSERT INTO p(name, age, photo) VALUES (?, ?, ?)');
    assert.equal(r.reader, false);
    assert.deepEqual(r.run, { changes: 1, lastInsertRowid: 1 });
    assert.deepEqual(r.runArray, { changes: 1, lastInsertRowid: 2 });
    assert.deepEqual(r.runNamed, { changes: 1, lastInsertRowid: 3 });
    assert.deepEqual(r.columns, ['id', 'name', 'age', 'photo']);
    assert.deepEqual(r.get, { id: 1, name: 'alice', age: 30, photo: 'bytes:1,2,3' });
    assert.equal(r.getNone, undefined);
    assert.deepEqual(r.all, [
      { id: 1, name: 'alice', age: 30, photo: 'bytes:1,2,3' },
      { id: 2, name: 'bob', age: 25, photo: null },
      { id: 3, name: 'carol', age: 41, photo: null },
    ]);
    assert.deepEqual(r.raw, [[1, 'alice', 30, 'bytes:1,2,3'], [3, 'carol', 41, null]]);
    assert.deepEqual(r.pluck, [1, 2, 3]);
    assert.deepEqual(r.iterated, ['alice', 'bob', 'carol']);
    assert.deepEqual(r.values, {
      maxSafe: 9007199254740991,
      beyond: '9007199254740992n',
      min64: '-9223372036854775808n',
      bigParam: '9223372036854775807n',
      nan: null,
      inf: Infinity,
      negZero: '-0',
      emptyBlob: 'bytes:',
      arrayBuffer: 'bytes:7,8',
      emptyText: '',
      unicode: 'naïve 日本 😀 𝄞 nul\0end',
      bool: 1,
    });
    assert.deepEqual(r.safe, { a: '1n', b: 2.5 });
    assert.equal(r.defaultSafe, '7n');
    assert.equal(r.fillReturns, 2500);
    assert.equal(r.iterRows, 2500);
    assert.equal(r.iterSum, (2499 * 2500) / 2);
    assert.equal(r.afterBreak, 0);
    assert.equal(r.inTxBefore, false);
    assert.equal(r.inTxDuring, true);
    assert.equal(r.txError, 'boom');
    assert.equal(r.inTxAfter, false);
    assert.equal(r.countAfterRollback, 2500);
    assert.equal(r.syntax.code, 'SQL_SYNTAX');
    assert.deepEqual([r.syntax.offset, r.syntax.line, r.syntax.column], [21, 1, 22]);
    assert.match(r.syntax.message, /syntax error at line 1, column 22/);
    assert.deepEqual([r.syntax2.code, r.syntax2.line, r.syntax2.column], ['SQL_SYNTAX', 2, 3]);
    assert.equal(r.constraint.code, 'CONSTRAINT');
    assert.match(r.constraint.message, /UNIQUE/);
    assert.equal(r.sqlError.code, 'SQL');
    assert.match(r.sqlError.message, /no such column: nope/);
    assert.deepEqual([r.tooFew.code, r.tooFew.type], ['INVALID_ARGUMENT', 'RangeError']);
    assert.match(r.tooFew.message, /too few/);
    assert.deepEqual([r.missing.code, r.missing.type], ['INVALID_ARGUMENT', 'RangeError']);
    assert.match(r.missing.message, /missing named parameter "min"/);
    assert.equal(r.symbol.code, 'INVALID_ARGUMENT'); // cannot even be sent to the worker
    assert.deepEqual([r.date.code, r.date.type], ['INVALID_ARGUMENT', 'TypeError']);
    assert.deepEqual([r.bigRange.code, r.bigRange.type], ['INVALID_ARGUMENT', 'RangeError']);
    assert.equal(r.stillWorks, 3);
    assert.equal(r.finalized, 'CLOSED');
  } finally {
    await browser.close();
  }
});

test('synchronous SQL API in a user worker (OPFS), persisting across a page reload', async () => {
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await openPage(context, server.pageUrl);
    const name = dbName('sql-sync');
    const runWorker = (step) =>
      page.evaluate(({ name, step }) => new Promise((resolve, reject) => {
        const w = new Worker(new URL('./sql-worker.js', location.href), { type: 'module' });
        w.onmessage = (e) => { resolve(e.data); w.terminate(); };
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage({ name, step });
      }), { name, step });
    const expectRead = {
      count: 1001,
      row: { id: 1, name: 'first', data: 'bytes:1,2', n: `${2n ** 60n}n` },
      empty: 'bytes:',
      scanned: (1001 * 1002) / 2,
      rolledBack: 0,
      syntax: { code: 'SQL_SYNTAX', offset: 25, line: 1, column: 26 },
      check: true,
    };
    const w = await runWorker('write');
    assert.deepEqual(w, { first: { changes: 1, lastInsertRowid: 1 }, rollbackError: 'CONSTRAINT', ...expectRead });
    await page.reload();
    await page.waitForFunction(() => window.testReady === true);
    assert.deepEqual(await runWorker('read'), expectRead);
    // And the main-thread API sees the same data.
    const fromMain = await page.evaluate(async (name) => {
      const db = await Tessera.open(name);
      const q = await db.prepare('SELECT name FROM items WHERE id = ?');
      const got = [await q.pluck().get(1), await q.pluck().get(1001)];
      await db.close();
      return got;
    }, name);
    assert.deepEqual(fromMain, ['first', 'item 999 ✓']);
  } finally {
    await browser.close();
  }
});
