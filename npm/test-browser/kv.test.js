// The engine-only flavour in the browser: 'tessera-db/kv' on the main thread (src/browser-kv.js:
// Promise API, worker src/worker-kv.js on OPFS) and 'tessera-db/kv/opfs' in a user Worker. It
// loads the engine-only wasm and none of the SQL modules; data persists across a reload; the
// full flavour opens what it wrote.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, dbName } from './helpers.js';

const server = await startServer();
after(() => server.close());

/** Paths of the full flavour a kv page must never fetch. */
const FULL_ONLY = ['/pkg/tessera.js', '/pkg/tessera_bg.wasm', '/src/sql.js', '/src/browser.js', '/src/worker.js', '/src/opfs.js'];

function assertKvOnly(requests) {
  assert.ok(requests.includes('/pkg/tessera_kv_bg.wasm'), `no request for the kv wasm: ${requests.join(' ')}`);
  assert.deepEqual(requests.filter((p) => FULL_ONLY.includes(p)), [], 'the kv flavour fetched a file of the full flavour');
}

test('tessera-db/kv on the main thread: key-value API, no SQL, persists across a reload, opens in the full flavour', async () => {
  const browser = await launch();
  try {
    const page = await openPage(await browser.newContext(), server.kvPageUrl);
    server.requests.length = 0;
    const name = dbName('kv-main');
    const r = await page.evaluate(async (name) => {
      const db = await writeData(name);
      await db.put('users', 'alice', 'admin');
      const [alice, rows] = await db.read([
        { op: 'getString', table: 'users', key: 'alice' },
        { op: 'range', table: 'items', start: 'key-00010', end: 'key-00012' },
      ]);
      const sqlMembers = ['exec', 'prepare', 'transaction', 'inTransaction', 'defaultSafeIntegers'].filter((m) => m in db);
      // The worker has no SQL methods either: a SQL request is an error, not a crash.
      const workerExec = await db._call('exec', ['CREATE TABLE t(a)']).then(() => 'ran', (e) => e.code);
      const after = await db.getString('users', 'alice');
      return { alice, rows: rows.map(([k]) => dec(k)), sqlMembers, workerExec, after };
    }, name);
    assert.deepEqual(r, { alice: 'admin', rows: ['key-00010', 'key-00011'], sqlMembers: [], workerExec: 'INVALID_ARGUMENT', after: 'admin' });
    assertKvOnly(server.requests);

    // Reload with the database left open: the data is there (OPFS), read by the kv flavour.
    await page.reload();
    await page.waitForFunction(() => window.testReady === true);
    assert.deepEqual(await page.evaluate((name) => verifyData(name), name), await page.evaluate(() => expectedData));
    assertKvOnly(server.requests);

    // Same origin, full flavour: the same file opens, with its SQL layer usable on it.
    await page.goto(server.pageUrl);
    await page.waitForFunction(() => window.testReady === true);
    assert.deepEqual(await page.evaluate((name) => verifyData(name), name), await page.evaluate(() => expectedData));
    const sql = await page.evaluate(async (name) => {
      const db = await Tessera.open(name);
      try {
        await db.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)');
        await (await db.prepare('INSERT INTO notes(body) VALUES (?)')).run('hi');
        const body = await (await db.prepare('SELECT body FROM notes')).pluck().get();
        return { body, alice: await db.getString('users', 'alice') };
      } finally {
        await db.close();
      }
    }, name);
    assert.deepEqual(sql, { body: 'hi', alice: 'admin' });
  } finally {
    await browser.close();
  }
});

test('tessera-db/kv/opfs in a user worker: synchronous key-value API, no SQL, persists across a reload', async () => {
  const browser = await launch();
  try {
    const page = await openPage(await browser.newContext(), server.kvPageUrl);
    const name = dbName('kv-worker');
    const run = (mode) =>
      page.evaluate(
        ({ name, mode }) =>
          new Promise((resolve, reject) => {
            const w = new Worker(new URL('./kv-worker.js', location.href), { type: 'module' });
            w.onmessage = (e) => {
              resolve(e.data);
              w.terminate();
            };
            w.onerror = (e) => reject(new Error(e.message));
            w.postMessage({ name, mode });
          }),
        { name, mode },
      );
    server.requests.length = 0;
    const keys = ['k010', 'k011', 'k012'];
    assert.deepEqual(await run('write'), {
      sqlMembers: [], statementExport: false, wasmPrepare: 'undefined', second: 'LOCKED',
      value: 'v42', count: 100, keys, checkOk: true,
    });
    assertKvOnly(server.requests);
    await page.reload();
    await page.waitForFunction(() => window.testReady === true);
    assert.deepEqual(await run('read'), { value: 'v42', count: 100, keys, checkOk: true });
  } finally {
    await browser.close();
  }
});
