// Shared helpers of the browser tests: a static server for npm/ on 127.0.0.1 and the Debian
// chromium driven by playwright-core (never a downloaded browser).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const executablePath = process.env.TESSERA_CHROMIUM || '/usr/bin/chromium';
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const mime = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * Serve npm/ (src/, pkg/, test-browser/, bench/, node_modules/) at http://127.0.0.1:<random
 * port>/, adding `headers` to every file response. `requests`: the paths asked for, in order
 * (clear it with `requests.length = 0`).
 */
export async function startServer({ headers = {} } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push(url.pathname);
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    const file = path.resolve(root, '.' + decodeURIComponent(url.pathname));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': mime[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', ...headers });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    pageUrl: `http://127.0.0.1:${port}/test-browser/page.html`,
    kvPageUrl: `http://127.0.0.1:${port}/test-browser/kv-page.html`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

export function launch() {
  return chromium.launch({ executablePath, headless: true, args });
}

export function launchPersistent(userDataDir) {
  return chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args });
}

export function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-browser-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A page of `context` with the test page loaded (window.Tessera, enc, dec). */
export async function openPage(context, pageUrl) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[pageerror]', e));
  page.on('console', (m) => { if (m.type() === 'error') console.error('[console]', m.text()); });
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.testReady === true);
  return page;
}

/** Unique database name per test, so tests sharing a profile never collide. */
let n = 0;
export const dbName = (tag) => `${tag}-${process.pid}-${Date.now()}-${n++}.db`;
