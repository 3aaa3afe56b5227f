// Service worker of the notes example: makes the page itself work offline (the data is in OPFS
// already). Network first, so a running server always serves the current files; when the
// network or the server is gone, the last copy from the cache answers.
const CACHE = 'notes-v1';
// The page and the package files it loads (src/browser.js → browser-base.js, worker.js →
// worker-base.js, opfs.js → opfs-base.js, core.js, sql.js; pkg/tessera.js → tessera_bg.wasm).
// Anything else fetched is cached as it goes by.
const FILES = [
  './', './index.html', './app.js', './style.css',
  '/src/browser.js', '/src/browser-base.js', '/src/worker.js', '/src/worker-base.js',
  '/src/opfs.js', '/src/opfs-base.js', '/src/core.js', '/src/sql.js',
  '/pkg/tessera.js', '/pkg/tessera_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    try {
      const res = await fetch(req);
      if (res.ok) {
        const copy = res.clone();
        event.waitUntil(caches.open(CACHE).then((cache) => cache.put(req, copy)));
      }
      return res;
    } catch (e) {
      const cached = await caches.match(req, { ignoreSearch: true });
      if (cached) return cached;
      throw e;
    }
  })());
});
