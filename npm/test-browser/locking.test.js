// A second tab opening an open database: LOCKED at once, or waits with lockTimeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, dbName } from './helpers.js';

let server, browser, context;
before(async () => {
  server = await startServer();
  browser = await launch();
  context = await browser.newContext();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('a second tab gets LOCKED at once; after close() it can open the database', async () => {
  const tab1 = await openPage(context, server.pageUrl);
  const tab2 = await openPage(context, server.pageUrl);
  const name = dbName('locked');
  await tab1.evaluate(async (name) => { window.db = await Tessera.open(name); await db.put('t', 'k', 'from tab 1'); }, name);
  const t0 = Date.now();
  const err = await tab2.evaluate((name) => Tessera.open(name).then(() => null, (e) => ({ code: e.code, message: e.message, isError: e instanceof Error })), name);
  const elapsed = Date.now() - t0;
  assert.equal(err?.code, 'LOCKED');
  assert.equal(err.isError, true);
  assert.match(err.message, /locked/);
  assert.ok(elapsed < 2000, `LOCKED should come fast (took ${elapsed} ms)`);
  // tab 1 is unaffected
  assert.equal(await tab1.evaluate(() => db.getString('t', 'k')), 'from tab 1');
  await tab1.evaluate(() => db.close());
  const got = await tab2.evaluate(async (name) => { const db = await Tessera.open(name); const v = await db.getString('t', 'k'); await db.close(); return v; }, name);
  assert.equal(got, 'from tab 1');
  await tab1.close();
  await tab2.close();
});

test('with lockTimeout a second tab waits for the first to close', async () => {
  const tab1 = await openPage(context, server.pageUrl);
  const tab2 = await openPage(context, server.pageUrl);
  const name = dbName('wait');
  await tab1.evaluate(async (name) => { window.db = await Tessera.open(name); await db.put('t', 'k', 'v1'); }, name);
  const waiting = tab2.evaluate(async (name) => {
    const t0 = performance.now();
    const db = await Tessera.open(name, { lockTimeout: 10000 });
    const waited = performance.now() - t0;
    const v = await db.getString('t', 'k');
    await db.close();
    return { v, waited };
  }, name);
  await new Promise((r) => setTimeout(r, 500));
  await tab1.evaluate(async () => { await db.put('t', 'k', 'v2'); await db.close(); });
  const r = await waiting;
  assert.equal(r.v, 'v2', 'the waiter sees what the first tab committed before closing');
  assert.ok(r.waited >= 300, `the second open waited (${r.waited} ms)`);
  // and a lockTimeout that expires gives LOCKED
  await tab1.evaluate(async (name) => { window.db = await Tessera.open(name); }, name);
  const err = await tab2.evaluate((name) => Tessera.open(name, { lockTimeout: 300 }).then(() => null, (e) => e.code), name);
  assert.equal(err, 'LOCKED');
  await tab1.evaluate(() => db.close());
  await tab1.close();
  await tab2.close();
});

test('closing the tab that holds the database releases the lock', async () => {
  const tab1 = await openPage(context, server.pageUrl);
  const name = dbName('tabclose');
  await tab1.evaluate(async (name) => { window.db = await Tessera.open(name); await db.put('t', 'k', 'v'); }, name);
  await tab1.close();
  const tab2 = await openPage(context, server.pageUrl);
  const v = await tab2.evaluate(async (name) => { const db = await Tessera.open(name, { lockTimeout: 5000 }); const v = await db.getString('t', 'k'); await db.close(); return v; }, name);
  assert.equal(v, 'v');
  await tab2.close();
});
