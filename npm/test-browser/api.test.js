// Main-thread API end to end: put/get/range/delete, batches, rollback, errors. Every test runs
// twice: on a plain page (requests as messages) and on a cross-origin isolated one, where the
// packed get/put/delete requests go through the shared-memory channel (src/browser-base.js).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, dbName } from './helpers.js';

const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

for (const channel of [false, true]) {
describe(channel ? 'through the shared-memory channel' : 'through messages', () => {
let server, browser, page;
before(async () => {
  server = await startServer({ headers: channel ? isolation : {} });
  browser = await launch();
  page = await openPage(await browser.newContext(), server.pageUrl);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('put/get/delete/range through the worker', async () => {
  const r = await page.evaluate(async (name) => {
    const db = await Tessera.open(name);
    await db.put('users', 'alice', 'admin');
    await db.put('users', 'bob', new Uint8Array([1, 2, 3]));
    await db.put('users', 'carol', 'staff');
    const alice = dec(await db.get('users', 'alice'));
    const bob = Array.from(await db.get('users', 'bob'));
    const missing = await db.get('users', 'zed');
    const str = await db.getString('users', 'carol');
    const rows = (await db.range('users', 'a', 'c')).map(([k, v]) => [dec(k), v.length]);
    const rev = (await db.range('users', null, null, { reverse: true, limit: 2 })).map(([k]) => dec(k));
    const deleted = await db.delete('users', 'bob');
    const deletedAgain = await db.delete('users', 'bob');
    const count = await db.count('users');
    const tables = await db.listTables();
    const check = await db.check();
    const stats = await db.stats();
    await db.close();
    return { alice, bob, missing, str, rows, rev, deleted, deletedAgain, count, tables, checkOk: check.ok, pageSize: stats.pageSize, closed: db.isClosed };
  }, dbName('api'));
  assert.deepEqual(r, {
    alice: 'admin', bob: [1, 2, 3], missing: undefined, str: 'staff',
    rows: [['alice', 5], ['bob', 3]], rev: ['carol', 'bob'], deleted: true, deletedAgain: false,
    count: 2, tables: ['users'], checkOk: true, pageSize: 4096, closed: true,
  });
});

test('read/write batches: one transaction per message, results in order', async () => {
  const r = await page.evaluate(async (name) => {
    const db = await Tessera.open(name);
    const ops = [];
    for (let i = 0; i < 1000; i++) ops.push({ op: 'put', table: 't', key: `k${String(i).padStart(4, '0')}`, value: `v${i}` });
    ops.push({ op: 'count', table: 't' });
    ops.push({ op: 'delete', table: 't', key: 'k0000' });
    const w = await db.write(ops);
    const [a, b, cnt, rows, tables, missing] = await db.read([
      { op: 'getString', table: 't', key: 'k0001' },
      { op: 'get', table: 't', key: 'k0999' },
      { op: 'count', table: 't' },
      { op: 'range', table: 't', start: 'k0010', end: 'k0013' },
      { op: 'listTables' },
      { op: 'get', table: 't', key: 'k0000' },
    ]);
    const commits = (await db.stats()).commits;
    await db.close();
    return { wlen: w.length, wcount: w[1000], wdel: w[1001], a, b: dec(b), cnt, rows: rows.map(([k, v]) => `${dec(k)}=${dec(v)}`), tables, missing, commits };
  }, dbName('batch'));
  assert.equal(r.wlen, 1002);
  assert.equal(r.wcount, 1000);
  assert.equal(r.wdel, true);
  assert.equal(r.a, 'v1');
  assert.equal(r.b, 'v999');
  assert.equal(r.cnt, 999);
  assert.deepEqual(r.rows, ['k0010=v10', 'k0011=v11', 'k0012=v12']);
  assert.deepEqual(r.tables, ['t']);
  assert.equal(r.missing, undefined);
  assert.equal(r.commits, 1, 'the 1002-op batch is one commit');
});

test('a failing write batch rolls back entirely; errors carry code and opIndex', async () => {
  const r = await page.evaluate(async (name) => {
    const db = await Tessera.open(name);
    await db.put('t', 'keep', 'old');
    const err = await db
      .write([
        { op: 'put', table: 't', key: 'keep', value: 'new' },
        { op: 'put', table: 't', key: 'x', value: 'y' },
        { op: 'put', table: 't', key: 42, value: 'bad key' },
      ])
      .then(() => null, (e) => ({ isError: e instanceof Error, code: e.code, opIndex: e.opIndex, message: e.message }));
    const tooLarge = await db.put('t', 'k'.repeat(100000), 'v').then(() => null, (e) => e.code);
    const unknownOp = await db.write([{ op: 'frobnicate' }]).then(() => null, (e) => e.code);
    const putInRead = await db.read([{ op: 'put', table: 't', key: 'a', value: 'b' }]).then(() => null, (e) => e.code);
    const missingTable = await db.count('nope').then((n) => n, (e) => e.code);
    const after = await db.read([{ op: 'getString', table: 't', key: 'keep' }, { op: 'get', table: 't', key: 'x' }, { op: 'count', table: 't' }]);
    await db.close();
    const closed = await db.get('t', 'keep').then(() => null, (e) => e.code);
    return { err, tooLarge, unknownOp, putInRead, missingTable, after, closed };
  }, dbName('rollback'));
  assert.equal(r.err.isError, true);
  assert.equal(r.err.code, 'INVALID_ARGUMENT');
  assert.equal(r.err.opIndex, 2);
  assert.equal(r.tooLarge, 'KEY_TOO_LARGE');
  assert.equal(r.unknownOp, 'INVALID_ARGUMENT');
  assert.equal(r.putInRead, 'INVALID_ARGUMENT');
  assert.deepEqual(r.after, ['old', undefined, 1]);
  assert.equal(r.closed, 'CLOSED');
  assert.equal(r.missingTable, 0, 'count of a missing table is 0');
});

test('packed requests: rollback with opIndex, order of mixed calls, large requests and replies, UTF-8', async () => {
  const r = await page.evaluate(async (name) => {
    const db = await Tessera.open(name);
    const channel = db._chan !== null;
    await db.put('t', 'keep', 'old');
    const err = await db
      .write([
        { op: 'put', table: 't', key: 'keep', value: 'new' },
        { op: 'delete', table: 't', key: 'keep' },
        { op: 'put', table: '', key: 'x', value: 'y' },
      ])
      .then(() => null, (e) => ({ code: e.code, opIndex: e.opIndex }));
    const single = await db.put('', 'k', 'v').then(() => null, (e) => ({ code: e.code, opIndex: e.opIndex }));
    const kept = await db.getString('t', 'keep');
    // Calls issued together complete in order, packed or not.
    const mixed = await Promise.all([
      db.put('m', 'a', 'A'), db.count('m'), db.getString('m', 'a'), db.range('m'), db.delete('m', 'a'), db.get('m', 'a'), db.delete('m', 'a'),
    ]);
    // 3,000 values of 1,000 bytes: a 3 MB request and a 3 MB reply (more than the channel holds).
    const ops = [];
    for (let i = 0; i < 3000; i++) ops.push({ op: 'put', table: 'big', key: `k${i}`, value: new Uint8Array(1000).fill(i & 0xff) });
    await db.write(ops, { durability: 'none' });
    const got = await db.read(ops.map(({ key }) => ({ op: 'get', table: 'big', key })));
    const bigOk = got.every((v, i) => v.length === 1000 && v[0] === (i & 0xff) && v[999] === (i & 0xff) && v.buffer.byteLength === 1000);
    // Non-ASCII keys and values: packed (put/getString) and unpacked (range) agree on UTF-8.
    await db.write([{ op: 'put', table: 'u', key: 'ключ', value: '鍵🔑' }, { op: 'put', table: 'u', key: 'é', value: new Uint8Array([0xc3, 0xa9]) }]);
    const utf = [await db.getString('u', 'ключ'), await db.getString('u', 'é'), (await db.range('u')).map(([k]) => dec(k))];
    const missing = await db.read([{ op: 'get', table: 'no-such-table', key: 'a' }]);
    // An argument that cannot be sent: the call fails, the next ones work.
    const uncloneable = await db.read([{ op: 'count', table: 'm', x: () => 1 }]).then(() => null, (e) => e.code);
    const afterUncloneable = await db.getString('t', 'keep');
    await db.close();
    return { channel, err, single, kept, mixed: mixed.map((v) => (v instanceof Uint8Array ? dec(v) : Array.isArray(v) ? v.length : v)), bigOk, utf, missing, uncloneable, afterUncloneable };
  }, dbName('packed'));
  assert.equal(r.channel, channel, 'the channel is used exactly on the cross-origin isolated page');
  assert.deepEqual(r.err, { code: 'INVALID_TABLE_NAME', opIndex: 2 });
  assert.deepEqual(r.single, { code: 'INVALID_TABLE_NAME', opIndex: undefined });
  assert.equal(r.kept, 'old', 'the failed batch rolled back');
  assert.deepEqual(r.mixed, [undefined, 1, 'A', 1, true, undefined, false]);
  assert.equal(r.bigOk, true);
  assert.deepEqual(r.utf, ['鍵🔑', 'é', ['é', 'ключ']]);
  assert.deepEqual(r.missing, [undefined]);
  assert.equal(r.uncloneable, 'INVALID_ARGUMENT');
  assert.equal(r.afterUncloneable, 'old');
});
});
}
