#!/usr/bin/env node
// A tiny static server for the notes example (no dependencies): serves the example at
// http://127.0.0.1:<port>/ and the tessera-db package files it imports (src/ and pkg/ of npm/).
//
//   node npm/examples/notes/serve.mjs            # http://127.0.0.1:8080/
//   node npm/examples/notes/serve.mjs --port=0   # any free port (printed)
//
// Importable: `startServer({ port })` resolves to `{ url, close }` (the browser test uses it).
// Only 127.0.0.1; only files under npm/examples/notes/, npm/src/ and npm/pkg/ are served.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const npmRoot = path.resolve(here, '../..');

const mime = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', // needed for WebAssembly.instantiateStreaming
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

// URL prefix → directory. '/' is the app; '/src/' and '/pkg/' are the package (the import map
// in index.html maps 'tessera-db' to /src/browser.js, which loads /src/worker.js and
// /pkg/tessera_bg.wasm relative to itself).
const mounts = [
  ['/src/', path.join(npmRoot, 'src')],
  ['/pkg/', path.join(npmRoot, 'pkg')],
  ['/', here],
];

function resolveFile(pathname) {
  for (const [prefix, dir] of mounts) {
    if (!pathname.startsWith(prefix)) continue;
    let rel = pathname.slice(prefix.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(dir, rel);
    if (!file.startsWith(dir + path.sep)) return null;
    return file;
  }
  return null;
}

/** Start the server; resolves to `{ url, port, close() }`. */
export async function startServer({ port = 0, host = '127.0.0.1' } = {}) {
  const server = http.createServer((req, res) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolveFile(pathname);
    if (!file || path.basename(file) === 'serve.mjs' || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(pathname.startsWith('/pkg/') ? 'not found (build the package first: bash npm/run-tests.sh --build-only)\n' : 'not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': mime[path.extname(file)] ?? 'application/octet-stream',
      'content-length': fs.statSync(file).size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}/`,
    port: actual,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const arg = process.argv.slice(2).find((a) => a.startsWith('--port='));
  const port = Number(arg ? arg.slice('--port='.length) : process.env.PORT ?? 8080);
  if (!fs.existsSync(path.join(npmRoot, 'pkg', 'tessera_bg.wasm'))) {
    console.error('npm/pkg/ is missing: build the package first (bash npm/run-tests.sh --build-only)');
    process.exit(1);
  }
  const { url } = await startServer({ port });
  console.log(`Notes (tessera-db over OPFS): ${url}  (Ctrl-C to stop)`);
}
