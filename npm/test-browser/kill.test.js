// Killing the worker mid-write (worker.terminate(), like a crashed tab) and reopening: the last
// committed state is intact and the file passes check().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, dbName } from './helpers.js';

let server, browser, page;
before(async () => {
  server = await startServer();
  browser = await launch();
  page = await openPage(await browser.newContext(), server.pageUrl);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('terminate inside a large write transaction: nothing of it is visible, earlier commits are', async () => {
  const N = 100000;
  const r = await page.evaluate(async ([name, N]) => {
    const db = await Tessera.open(name);
    await db.write(Array.from({ length: 500 }, (_, i) => ({ op: 'put', table: 't', key: `base-${i}`, value: `v${i}` })));
    const ops = [];
    const value = 'x'.repeat(400);
    for (let i = 0; i < N; i++) {
      ops.push({ op: 'put', table: 't', key: `new-${String(i).padStart(6, '0')}`, value });
      if (i === 1000) ops.push({ op: 'debugNotify', tag: 'mid', holdMs: 5000 });
    }
    const notified = new Promise((resolve) => { db._onDebug = resolve; });
    const t0 = performance.now();
    const pending = db.write(ops).then(() => 'committed', (e) => e.code);
    await notified;
    db._terminate();
    const outcome = await pending;
    const killedAfter = performance.now() - t0;
    const db2 = await Tessera.open(name, { lockTimeout: 5000 });
    const [base, fresh, v] = await db2.read([{ op: 'count', table: 't' }, { op: 'range', table: 't', start: 'new-', end: 'new.' , limit: 1 }, { op: 'getString', table: 't', key: 'base-499' }]);
    const check = await db2.check();
    await db2.close();
    return { outcome, base, fresh: fresh.length, v, checkOk: check.ok, errors: check.errors, killedAfter };
  }, [dbName('kill-mid'), N]);
  const { killedAfter, ...rest } = r;
  console.log(`worker terminated ${killedAfter.toFixed(0)} ms after the write was sent`);
  // The worker holds the transaction open after the notification (holdMs), so the terminate
  // lands inside it whatever the speed of the puts: the transaction never commits.
  assert.deepEqual(rest, { outcome: 'CLOSED', base: 500, fresh: 0, v: 'v499', checkOk: true, errors: [] });
});

test('terminate during a stream of durable commits: every acknowledged commit survives, repeatedly', async () => {
  const rounds = await page.evaluate(async (name) => {
    const out = [];
    let acked = -1;
    for (let round = 0; round < 6; round++) {
      const db = await Tessera.open(name, { lockTimeout: 5000 });
      // What a previous round left: the counter is at least what was acknowledged.
      const [counter, n] = await db.read([{ op: 'getString', table: 'c', key: 'counter' }, { op: 'count', table: 'rows' }]);
      const seen = counter === undefined ? -1 : Number(counter);
      const check = await db.check();
      out.push({ round, acked, seen, rows: n, checkOk: check.ok });
      acked = seen;
      // Commits of growing size; kill after a random delay while they are in flight.
      let stop = false;
      const loop = (async () => {
        for (let i = seen + 1; !stop; i++) {
          const ops = [{ op: 'put', table: 'c', key: 'counter', value: String(i) }];
          for (let j = 0; j < 50; j++) ops.push({ op: 'put', table: 'rows', key: `r-${i}-${j}`, value: 'y'.repeat(300) });
          await db.write(ops);
          acked = i;
        }
      })().catch((e) => e.code);
      await new Promise((r) => setTimeout(r, 30 + Math.random() * 150));
      stop = true;
      db._terminate();
      await loop;
    }
    return out;
  }, dbName('kill-stream'));
  for (const r of rounds.slice(1)) {
    assert.ok(r.checkOk, `round ${r.round}: check() passes`);
    assert.ok(r.seen >= r.acked, `round ${r.round}: acknowledged commit ${r.acked} survives (found ${r.seen})`);
    assert.ok(r.seen <= r.acked + 1, `round ${r.round}: at most the one in-flight commit beyond the acknowledged one (found ${r.seen}, acked ${r.acked})`);
    assert.equal(r.rows, (r.seen + 1) * 50, `round ${r.round}: rows match the counter (all-or-nothing commits)`);
  }
  assert.ok(rounds.at(-1).seen > 0, 'some commits happened');
});
