// Shequ's service worker: precaches the app shell (the .wasm included) so the app opens with no
// network after the first visit. Assets are content-hashed, so a cached copy is always right; a
// new version arrives as a new worker with a new cache, and the old cache is dropped.
//
// The shell comes from the cache first, every time: a phone on a link that connects but never
// answers (a weak signal, a captive portal) must still open the app at once. The browser checks
// for a new sw.js by itself on every visit; a new version installs in the background and is
// used from the next opening on.
const VERSION = '{{version}}';
const CACHE = `shequ-shell-${VERSION}`;
const PRECACHE = [
/* {{precache}} */
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('shequ-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/') || url.pathname === '/healthz'
    || url.pathname.startsWith('/wall/') || url.pathname === '/wall.css') {
    // Data goes straight to the network, untouched here: the app gives each request a time limit
    // and falls back to its own copy in IndexedDB. The public wish wall is the server's own page,
    // not the app's, and always as it is now.
    return;
  }
  if (request.mode === 'navigate') {
    // Any page of the app is the same shell.
    event.respondWith(
      caches.match('/index.html', { cacheName: CACHE }).then((hit) => hit || fetch(request)),
    );
    return;
  }
  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetchAndKeep(request, url)),
  );
});

// A piece of the app fetched when a page first needs it (the administrator's pages) is kept
// beside the shell, so the page opens offline from then on. Assets are content-hashed: a kept
// copy never goes stale, and it goes with the cache of its version.
function fetchAndKeep(request, url) {
  return fetch(request).then((response) => {
    if (response.ok && url.pathname.startsWith('/assets/')) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy)).catch(() => {});
    }
    return response;
  });
}
