// Data survives a page reload and a browser restart with the same profile (OPFS).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, launchPersistent, openPage, dbName, tempDir } from './helpers.js';

const server = await startServer();
after(() => server.close());

test('data persists across a page reload (database left open when the page goes)', async () => {
  const browser = await launch();
  try {
    const page = await openPage(await browser.newContext(), server.pageUrl);
    const name = dbName('reload');
    await page.evaluate(async (name) => { window.db = await writeData(name); }, name);
    await page.reload();
    await page.waitForFunction(() => window.testReady === true);
    const got = await page.evaluate((name) => verifyData(name), name);
    assert.deepEqual(got, await page.evaluate(() => expectedData));
  } finally {
    await browser.close();
  }
});

test('data persists across a browser restart with the same profile', async () => {
  const profile = tempDir();
  const name = dbName('restart');
  try {
    let context = await launchPersistent(profile.dir);
    try {
      const page = await openPage(context, server.pageUrl);
      await page.evaluate(async (name) => { const db = await writeData(name); await db.close(); }, name);
    } finally {
      await context.close();
    }
    context = await launchPersistent(profile.dir);
    try {
      const page = await openPage(context, server.pageUrl);
      const got = await page.evaluate((name) => verifyData(name), name);
      assert.deepEqual(got, await page.evaluate(() => expectedData));
    } finally {
      await context.close();
    }
  } finally {
    profile.cleanup();
  }
});

test('a database left open when the browser quits is intact after the restart', async () => {
  const profile = tempDir();
  const name = dbName('restart-open');
  try {
    let context = await launchPersistent(profile.dir);
    try {
      const page = await openPage(context, server.pageUrl);
      await page.evaluate(async (name) => { window.db = await writeData(name); }, name);
    } finally {
      await context.close();
    }
    context = await launchPersistent(profile.dir);
    try {
      const page = await openPage(context, server.pageUrl);
      const got = await page.evaluate((name) => verifyData(name), name);
      assert.deepEqual(got, await page.evaluate(() => expectedData));
    } finally {
      await context.close();
    }
  } finally {
    profile.cleanup();
  }
});
