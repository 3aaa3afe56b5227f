// Packed requests (the browser main thread's binary batches, src/browser-base.js `packOps`,
// run by the wasm `ReadTx/WriteTx.runPacked` in the worker): same results as the object API,
// errors with `opIndex`, and malformed bytes rejected with INVALID_ARGUMENT, never a panic
// (a panic would abort the wasm instance: every later call would fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tessera as Full, kvEntry, dec } from './helpers.js';
import { packOps, unpackResults } from '../src/browser-base.js';

const { Tessera: Kv } = await import(kvEntry);

const read = (db, ops) => unpackResults(ops, db.read((rx) => rx._runPacked(packOps(ops, false))));
const write = (db, ops) => unpackResults(ops, db.write((tx) => tx._runPacked(packOps(ops, true))));
const rows = (rs) => rs.map(([k, v]) => `${dec(k)}=${dec(v)}`);

for (const [flavour, Tessera] of [['full', Full], ['kv', Kv]]) {
  test(`${flavour}: packed batches give the object API's results`, () => {
    const db = Tessera.memory();
    try {
      const w = write(db, [
        { op: 'put', table: 't', key: 'b', value: 'B' },
        { op: 'put', table: 't', key: new Uint8Array([0x61]), value: new Uint8Array([0x41, 0]) },
        { op: 'put', table: 'u', key: 'ключ', value: '鍵🔑' },
        { op: 'put', table: 't', key: 'c', value: '' },
        { op: 'getString', table: 't', key: 'b' },
        { op: 'delete', table: 't', key: 'c' },
        { op: 'delete', table: 't', key: 'zz' },
        { op: 'get', table: 't', key: 'c' },
      ]);
      assert.deepEqual(w, [undefined, undefined, undefined, undefined, 'B', true, false, undefined]);
      for (let i = 0; i < 300; i++) db.put('r', `k${String(i).padStart(3, '0')}`, `v${i}`);
      const r = read(db, [
        { op: 'get', table: 't', key: 'a' },
        { op: 'getString', table: 'u', key: 'ключ' },
        { op: 'get', table: 'nope', key: 'a' },
        { op: 'range', table: 'r', start: 'k010', end: 'k013' },
        { op: 'range', table: 'r', end: 'k002' },
        { op: 'range', table: 'r', start: new Uint8Array([0x6b, 0x32]), reverse: true, limit: 2 },
        { op: 'range', table: 'r', limit: 0 },
        { op: 'range', table: 'nope' },
        { op: 'range', table: 'r' },
      ]);
      assert.deepEqual(Array.from(r[0]), [0x41, 0]);
      assert.equal(r[1], '鍵🔑');
      assert.equal(r[2], undefined);
      assert.deepEqual(rows(r[3]), ['k010=v10', 'k011=v11', 'k012=v12']);
      assert.deepEqual(rows(r[4]), ['k000=v0', 'k001=v1']);
      assert.deepEqual(rows(r[5]), db.read((rx) => rows([...rx.range('r', 'k2', undefined, { reverse: true, limit: 2 })])));
      assert.deepEqual(r[6], []);
      assert.deepEqual(r[7], []);
      assert.deepEqual(rows(r[8]), db.read((rx) => rows([...rx.entries('r')])));
      assert.equal(r[8].length, 300);
    } finally {
      db.close();
    }
  });

  test(`${flavour}: packed errors carry opIndex and roll the batch back`, () => {
    const db = Tessera.memory();
    try {
      db.put('t', 'keep', 'old');
      const code = (fn) => {
        try {
          fn();
          return null;
        } catch (e) {
          return { code: e.code, opIndex: e.opIndex };
        }
      };
      assert.deepEqual(code(() => write(db, [
        { op: 'put', table: 't', key: 'keep', value: 'new' },
        { op: 'get', table: 't', key: 'keep' },
        { op: 'put', table: '', key: 'x', value: 'y' },
      ])), { code: 'INVALID_TABLE_NAME', opIndex: 2 });
      assert.deepEqual(code(() => write(db, [{ op: 'put', table: 't', key: 'k'.repeat(100_000), value: 'v' }])), { code: 'KEY_TOO_LARGE', opIndex: 0 });
      // A put code in a read transaction, a table index past the table list.
      const put = packOps([{ op: 'put', table: 't', key: 'a', value: 'b' }], true);
      assert.deepEqual(code(() => db.read((rx) => rx._runPacked(put))), { code: 'INVALID_ARGUMENT', opIndex: 0 });
      const badTable = packOps([{ op: 'get', table: 't', key: 'a' }], false);
      badTable[9] = 7;
      assert.deepEqual(code(() => db.read((rx) => rx._runPacked(badTable))), { code: 'INVALID_ARGUMENT', opIndex: 0 });
      assert.equal(dec(db.get('t', 'keep')), 'old');
    } finally {
      db.close();
    }
  });

  test(`${flavour}: truncated and random requests are rejected, never a panic`, () => {
    const db = Tessera.memory();
    try {
      db.put('t', 'a', 'A');
      const ops = [
        { op: 'put', table: 't', key: 'b', value: 'B' },
        { op: 'get', table: 't', key: 'a' },
        { op: 'delete', table: 'u', key: 'x' },
      ];
      const req = packOps(ops, true);
      let rejected = 0;
      for (let n = 0; n < req.length; n++) {
        try {
          db.write((tx) => tx._runPacked(req.slice(0, n)));
        } catch (e) {
          assert.equal(e.code, 'INVALID_ARGUMENT', `prefix ${n}: ${e.message}`);
          rejected++;
        }
      }
      // Only the prefixes that end between operations (or hold no table list) parse.
      assert.ok(rejected >= req.length - 4, `${rejected} of ${req.length} prefixes rejected`);
      let seed = 12345;
      const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
      for (let i = 0; i < 500; i++) {
        const junk = req.slice();
        for (let j = 0; j < 3; j++) junk[rnd() % junk.length] = rnd() & 0xff;
        for (const run of [(b) => db.write((tx) => tx._runPacked(b)), (b) => db.read((rx) => rx._runPacked(b))]) {
          try {
            run(junk);
          } catch (e) {
            assert.equal(typeof e.code, 'string', String(e));
          }
        }
      }
      // The instance still works: no panic aborted it.
      db.put('t', 'after', 'ok');
      assert.equal(dec(db.get('t', 'after')), 'ok');
      assert.equal(db.check().ok, true);
    } finally {
      db.close();
    }
  });
}
