// The notes example (examples/notes/) end to end in headless Chromium, driven through its UI:
// add, search, toggle, edit, delete; reload (data still there, from OPFS); a second tab is told
// the notes are open in another tab and takes over when the first tab closes; with the server
// stopped the page still loads (service worker) and works; a browser restart with the same
// profile keeps everything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer } from '../examples/notes/serve.mjs';
import { launchPersistent, tempDir } from './helpers.js';

let server;
let profile;
before(async () => {
  server = await startServer();
  profile = tempDir();
});
after(async () => {
  await server?.close();
  profile?.cleanup();
});

const errors = [];
async function openApp(context) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`[pageerror] ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`[console] ${m.text()}`); });
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`[http ${r.status()}] ${r.url()}`); });
  await page.goto(server.url);
  return page;
}

const state = (page) => page.evaluate(() => document.documentElement.dataset.state);
const waitState = (page, want, timeout = 15000) =>
  page.waitForFunction((want) => document.documentElement.dataset.state === want, want, { timeout });

/** The notes shown, top to bottom: [title, body, done]. */
const shown = (page) =>
  page.$$eval('#list .note', (lis) => lis.map((li) => [li.querySelector('.title').textContent, li.querySelector('.body').textContent, li.querySelector('.done').checked && li.classList.contains('is-done')]));
const titles = async (page) => (await shown(page)).map(([t]) => t);
const waitTitles = (page, want) =>
  page.waitForFunction((want) => JSON.stringify([...document.querySelectorAll('#list .note .title')].map((e) => e.textContent)) === JSON.stringify(want), want, { timeout: 10000 })
    .catch(async (e) => { throw new Error(`list is ${JSON.stringify(await titles(page))}, expected ${JSON.stringify(want)} (${e.message})`); });
const waitShown = (page, want) =>
  page.waitForFunction((want) => JSON.stringify([...document.querySelectorAll('#list .note')].map((li) => [li.querySelector('.title').textContent, li.querySelector('.body').textContent, li.querySelector('.done').checked && li.classList.contains('is-done')])) === JSON.stringify(want), want, { timeout: 10000 })
    .catch(async (e) => { throw new Error(`list is ${JSON.stringify(await shown(page))}, expected ${JSON.stringify(want)} (${e.message})`); });
const note = (page, title) => page.locator('#list .note', { has: page.locator('.title', { hasText: new RegExp(`^${title}$`) }) });

async function add(page, title, body) {
  const before = (await titles(page)).length;
  await page.fill('#title', title);
  await page.fill('#body', body);
  await page.click('#add');
  await page.waitForFunction((n) => document.querySelectorAll('#list .note').length === n, before + 1);
}

async function search(page, text) {
  await page.fill('#search', text);
  // the list is redrawn after a short debounce; wait for the summary line to follow
  await page.waitForFunction((t) => (t.trim() === '' ? document.querySelector('#summary').textContent === '' : document.querySelector('#summary').textContent.includes(`“${t.trim()}”`)), text);
}

test('notes app: add, search, toggle, edit, delete, reload, second tab, offline, browser restart', { timeout: 120000 }, async () => {
  let context = await launchPersistent(profile.dir);
  try {
    const page = await openApp(context);
    await waitState(page, 'ready');
    assert.deepEqual(await titles(page), [], 'a fresh profile starts with no notes');
    assert.match(await page.textContent('#status'), /^0 notes \(0 done\), saved in OPFS as notes\.db$/);

    // add (newest first)
    await add(page, 'Buy milk', '2 litres, 100% organic');
    await add(page, 'Call Alice', 'about the trip');
    await add(page, 'Write report', 'quarterly numbers\nsecond line');
    await add(page, 'Plan a_b test', '');
    assert.deepEqual(await titles(page), ['Plan a_b test', 'Write report', 'Call Alice', 'Buy milk']);
    assert.deepEqual((await shown(page))[1], ['Write report', 'quarterly numbers\nsecond line', false]);
    assert.match(await page.textContent('#status'), /^4 notes \(0 done\)/);

    // search: title or body, case-insensitive, LIKE wildcards in the text taken literally
    await search(page, 'ALICE');
    assert.deepEqual(await titles(page), ['Call Alice']);
    await search(page, 'trip');
    assert.deepEqual(await titles(page), ['Call Alice']);
    await search(page, '100%');
    assert.deepEqual(await titles(page), ['Buy milk']);
    await search(page, '_');
    assert.deepEqual(await titles(page), ['Plan a_b test']);
    await search(page, 'r');
    assert.deepEqual(await titles(page), ['Write report', 'Call Alice', 'Buy milk']);
    assert.match(await page.textContent('#summary'), /^3 of 4 match/);
    await search(page, 'nothing like this');
    assert.deepEqual(await titles(page), []);
    await search(page, '');
    assert.deepEqual(await titles(page), ['Plan a_b test', 'Write report', 'Call Alice', 'Buy milk']);

    // toggle done: the note is struck through and moves below the open ones
    await note(page, 'Call Alice').locator('.done').check();
    await waitTitles(page, ['Plan a_b test', 'Write report', 'Buy milk', 'Call Alice']);
    assert.equal((await shown(page))[3][2], true);
    assert.match(await page.textContent('#status'), /^4 notes \(1 done\)/);

    // edit: new title and body; the edited note is the most recently updated open one
    await note(page, 'Buy milk').locator('.edit').click();
    await page.fill('#list .note .edit-title', 'Buy oat milk');
    await page.fill('#list .note .edit-body', '1 litre');
    await page.click('#list .note .save');
    await waitTitles(page, ['Buy oat milk', 'Plan a_b test', 'Write report', 'Call Alice']);
    assert.deepEqual((await shown(page))[0], ['Buy oat milk', '1 litre', false]);

    // delete
    await note(page, 'Plan a_b test').locator('.delete').click();
    await waitTitles(page, ['Buy oat milk', 'Write report', 'Call Alice']);

    // toggle back and forth (open notes first, each group most recently updated first)
    await note(page, 'Write report').locator('.done').check();
    await waitShown(page, [['Buy oat milk', '1 litre', false], ['Write report', 'quarterly numbers\nsecond line', true], ['Call Alice', 'about the trip', true]]);
    await note(page, 'Write report').locator('.done').uncheck();
    await waitShown(page, [['Write report', 'quarterly numbers\nsecond line', false], ['Buy oat milk', '1 litre', false], ['Call Alice', 'about the trip', true]]);
    await note(page, 'Write report').locator('.done').check();
    const expected = [
      ['Buy oat milk', '1 litre', false],
      ['Write report', 'quarterly numbers\nsecond line', true],
      ['Call Alice', 'about the trip', true],
    ];
    await waitShown(page, expected);

    // reload: everything is still there (read back from OPFS)
    await page.reload();
    await waitState(page, 'ready');
    assert.deepEqual(await shown(page), expected);
    assert.match(await page.textContent('#status'), /^3 notes \(2 done\)/);

    // a second tab: told the notes are open in another tab, and waits
    const tab2 = await openApp(context);
    await waitState(tab2, 'locked');
    assert.equal(await tab2.isVisible('#banner'), true);
    assert.match(await tab2.textContent('#banner'), /open in another tab/);
    assert.equal(await tab2.isDisabled('#title'), true, 'no input while locked');
    // the first tab is unaffected
    await add(page, 'From tab one', '');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await state(tab2), 'locked', 'still waiting while the first tab is open');
    // closing the first tab hands the database over
    await page.close();
    await waitState(tab2, 'ready');
    assert.equal(await tab2.isHidden('#banner'), true);
    assert.deepEqual(await titles(tab2), ['From tab one', 'Buy oat milk', 'Write report', 'Call Alice']);
    await add(tab2, 'From tab two', 'after the handover');

    // offline: with the server gone the page still loads (sw.js) and the notes are there
    await tab2.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const { port } = server;
    await server.close();
    await tab2.reload();
    await waitState(tab2, 'ready');
    assert.deepEqual(await titles(tab2), ['From tab two', 'From tab one', 'Buy oat milk', 'Write report', 'Call Alice']);
    await add(tab2, 'Written offline', '');
    server = await startServer({ port });
  } finally {
    await context.close();
  }

  // browser restart with the same profile: everything persisted
  context = await launchPersistent(profile.dir);
  try {
    const page = await openApp(context);
    await waitState(page, 'ready');
    assert.deepEqual(await titles(page), ['Written offline', 'From tab two', 'From tab one', 'Buy oat milk', 'Write report', 'Call Alice']);
    assert.match(await page.textContent('#status'), /^6 notes \(2 done\)/);
  } finally {
    await context.close();
  }
  assert.deepEqual(errors, [], 'no page errors');
});

test('notes server: MIME types, the package files, and nothing else', async () => {
  const get = async (p) => {
    const r = await fetch(new URL(p, server.url));
    return { status: r.status, type: r.headers.get('content-type') };
  };
  assert.deepEqual(await get('/'), { status: 200, type: 'text/html; charset=utf-8' });
  assert.deepEqual(await get('/app.js'), { status: 200, type: 'text/javascript; charset=utf-8' });
  assert.deepEqual(await get('/style.css'), { status: 200, type: 'text/css; charset=utf-8' });
  assert.deepEqual(await get('/src/browser.js'), { status: 200, type: 'text/javascript; charset=utf-8' });
  assert.deepEqual(await get('/src/worker.js'), { status: 200, type: 'text/javascript; charset=utf-8' });
  assert.deepEqual(await get('/pkg/tessera_bg.wasm'), { status: 200, type: 'application/wasm' });
  assert.equal((await get('/serve.mjs')).status, 404);
  assert.equal((await get('/package.json')).status, 404);
  assert.equal((await get('/nope.html')).status, 404);
  // paths that climb out of the served folders (sent raw: fetch() would normalise them)
  const raw = (p) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path: p }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
  assert.equal(await raw('/src/../package.json'), 404);
  assert.equal(await raw('/src/..%2f..%2fpackage.json'), 404);
  assert.equal(await raw('/%2e%2e/%2e%2e/package.json'), 404);
  assert.equal(await raw('/pkg/tessera_bg.wasm'), 200);
});
