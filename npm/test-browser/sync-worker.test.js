// The synchronous API inside a user's own Worker ('tessera-db/opfs'), and the lock layers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, dbName } from './helpers.js';

const server = await startServer();
after(() => server.close());

test('synchronous OPFS API in a user worker; LOCKED from the Web Lock and from the handle', async () => {
  const browser = await launch();
  try {
    const page = await openPage(await browser.newContext(), server.pageUrl);
    const r = await page.evaluate((name) => new Promise((resolve, reject) => {
      const w = new Worker(new URL('./sync-worker.js', location.href), { type: 'module' });
      w.onmessage = (e) => { resolve(e.data); w.terminate(); };
      w.onerror = (e) => reject(new Error(e.message));
      w.postMessage(name);
    }), dbName('sync'));
    assert.deepEqual(r, { value: 'v42', count: 100, keys: ['k010', 'k011', 'k012'], second: 'LOCKED', reopened: 100, rawHeld: 'LOCKED', rawAfter: true, badName: 'INVALID_ARGUMENT' });
  } finally {
    await browser.close();
  }
});
