// The phone measured as a worker uses it: the real app (wasm, IndexedDB through rexie, the
// browser's own compression) in headless Chromium at 360 × 740, talking to a real shequ-server
// through a proxy that adds a delay to every request and counts the bytes on the phone's side of
// the link. Prints its figures; `cargo xtask bench-phone` runs it (a benchmark, not a test).
//
//   node tests/e2e/bench-phone.mjs [records=10000] [delay_ms=50] [saves=20]
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, tempDir, login, fillCase, apiToken, deliberationCase, PASSWORD } from './harness.mjs';

const [RECORDS = 10_000, DELAY = 50, SAVES = 20] = process.argv.slice(2).map(Number);
const PHONE = { width: 360, height: 740 };
// The demo's four villages, one a phone each: a phone starts empty and holds only its village.
const PULLED = '610324001001'; // gets RECORDS from the server
const SMALL = '610324001201'; // gets RECORDS / 10
const EMPTY = '610324001004'; // holds nothing
const PUSHER = '610324103001'; // sends RECORDS it made

const began = Date.now();
/** Where the run is, on stderr, so a slow step shows itself. */
const step = (what) => console.error(`[${((Date.now() - began) / 1000).toFixed(1)} s] ${what}`);

const dir = tempDir('shequ-bench-phone-');
const server = await startServer({ db: path.join(dir, 'bench.db') });

/** The link: DELAY ms before each request goes on, and every byte counted on the phone's side. */
function proxy(target) {
  const counts = { requests: {}, body: {}, bytes: 0 };
  const sockets = new Set();
  const relay = http.createServer((req, res) => {
    const kind = new URL(req.url, 'http://x').pathname.replace(/^\/api\/(sync\/)?/, '').split('/')[0] || 'page';
    counts.requests[kind] = (counts.requests[kind] ?? 0) + 1;
    const body = (n) => { counts.body[kind] = (counts.body[kind] ?? 0) + n; };
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => setTimeout(() => {
      const up = http.request(target + req.url, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.rawHeaders);
        let got = 0;
        r.on('data', (c) => { body(c.length); got += c.length; });
        if (process.env.BENCH_TRACE) r.on('end', () => console.error(`[link] ${req.method} ${req.url} ${r.statusCode} ${got} B`));
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      const sent = Buffer.concat(chunks);
      body(sent.length);
      up.end(sent);
    }, DELAY));
  });
  relay.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => { counts.bytes += s.bytesRead + s.bytesWritten; sockets.delete(s); });
  });
  return new Promise((resolve) => relay.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${relay.address().port}`,
    /** Requests and body bytes (as sent, compressed or not) by kind, and every byte both ways on
     * the sockets, since the last call. */
    take() {
      let bytes = counts.bytes;
      for (const s of sockets) bytes += s.bytesRead + s.bytesWritten - (s.counted ?? 0);
      for (const s of sockets) s.counted = s.bytesRead + s.bytesWritten;
      const out = { requests: counts.requests, body: counts.body, bytes };
      counts.requests = {};
      counts.body = {};
      counts.bytes = 0;
      return out;
    },
    close: () => new Promise((done) => { for (const s of sockets) s.destroy(); relay.close(done); }),
  })));
}

async function seed(unit, n) {
  step(`seeding ${n} records of ${unit}`);
  const token = await apiToken(server.url, `village-${unit}`);
  for (let from = 0; from < n; from += 500) {
    const changes = [];
    for (let i = from; i < Math.min(n, from + 500); i++) {
      changes.push(deliberationCase(unit, `议题${i}:修缮小区第${i % 40}号路灯`, i, { device: 'seed', success: i % 3 === 0 }));
    }
    const r = await fetch(`${server.url}/api/sync/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'seed', changes }),
    });
    if (r.status !== 200) throw new Error(`seeding ${unit}: ${r.status} ${await r.text()}`);
  }
}
await seed(PULLED, RECORDS);
await seed(SMALL, RECORDS / 10);

const phones = [];
/** A fresh phone on a link of its own, so that what one phone sends is never counted for another. */
async function phone() {
  const link = await proxy(server.url);
  const profile = tempDir('shequ-bench-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    viewport: PHONE,
    locale: 'zh-CN',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--enable-precise-memory-info'],
  });
  phones.push({ context, link });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(link.url + '/');
  return { context, page, profile, link };
}

/** What the phone's IndexedDB holds in `store`. */
const held = (page, store) => page.evaluate((name) => new Promise((resolve, reject) => {
  const open = indexedDB.open('shequ');
  open.onupgradeneeded = () => open.transaction.abort();
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const count = open.result.transaction(name).objectStore(name).count();
    count.onsuccess = () => { open.result.close(); resolve(count.result); };
    count.onerror = () => reject(count.error);
  };
}), store);

/** Waits for `ok`; past the timeout, fails with what `page` shows. */
async function until(what, ok, page, timeout = Number(process.env.BENCH_TIMEOUT_MS ?? 300_000)) {
  const started = Date.now();
  for (;;) {
    if (await ok()) return;
    if (Date.now() - started > timeout) {
      const shows = await page.evaluate(() => document.body.innerText).catch((e) => `(unread: ${e.message})`);
      throw new Error(`${what}: not within ${timeout / 1000} s; the phone shows:\n${shows}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
const status = (page) => page.evaluate(() => document.querySelector('[data-testid="sync-status"]')?.textContent ?? '');
// Nothing waits to be sent and the phone's checksum matched the server's after its last pull.
const settled = async (page) => /与服务器一致/.test(await status(page));

/** Logs a fresh phone in as the worker of `unit` and waits until it holds `n` records, settled. */
async function loggedIn(unit, n) {
  step(`a fresh phone logs in as the worker of ${unit}`);
  const p = await phone();
  p.link.take();
  await p.page.evaluate(() => performance.clearMeasures());
  const started = performance.now();
  await login(p.page, `village-${unit}`, PASSWORD);
  await until(`pull of ${n}`, async () => (await held(p.page, 'records')) >= n && settled(p.page), p.page);
  return { ...p, pull: { ms: performance.now() - started, ...p.link.take(), steps: await steps(p.page) } };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const spread = (xs) => `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;

/** SAVES cases typed and saved through the form; the store's time of each (the app's
 * `shequ-save` measures) and the time from the save button to the case in the list. */
async function saves(page, tag) {
  step(`${SAVES} saves (${tag})`);
  const shown = [];
  await page.evaluate(() => performance.clearMeasures('shequ-save'));
  for (let i = 0; i < SAVES; i++) {
    await page.click('a[data-form="deliberation_case"]');
    await fillCase(page, `${tag}第${i}次保存`);
    const t = performance.now();
    await page.click('button:has-text("保存")');
    await page.waitForSelector(`li[data-testid="record"]:has-text("${tag}第${i}次保存")`);
    shown.push(performance.now() - t);
  }
  const store = await page.evaluate(() => performance.getEntriesByName('shequ-save', 'measure').map((e) => e.duration));
  if (store.length !== SAVES) throw new Error(`${store.length} saves timed of ${SAVES}`);
  return { store, shown };
}

/** The tab's memory: the JS heap in use, and the resident set of the phone's largest renderer
 * process (the app's tab), found under the browser process that owns the phone's profile. */
async function memory(phone) {
  const cdp = await phone.context.newCDPSession(phone.page);
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const rss = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) * 1024;
      return [{ pid, ppid, cmd, rss }];
    } catch { return []; }
  });
  const mine = new Set(procs.filter((p) => p.cmd.includes(`--user-data-dir=${phone.profile}`) && !p.cmd.includes('--type=')).map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (mine.has(p.ppid) && !mine.has(p.pid)) { mine.add(p.pid); grew = true; }
  }
  const renderers = procs.filter((p) => mine.has(p.pid) && p.cmd.includes('--type=renderer'));
  return { heap, renderer: Math.max(0, ...renderers.map((p) => p.rss)) };
}
/** The app's own sync timings (its `shequ-sync:…` measures) since they were last cleared: how
 * many of each step and the milliseconds they took together. */
const steps = (page) => page.evaluate(() => {
  const out = {};
  for (const m of performance.getEntriesByType('measure')) {
    if (!m.name.startsWith('shequ-sync')) continue;
    const k = m.name.replace('shequ-sync:', '') || 'whole sync';
    out[k] = out[k] ?? [0, 0];
    out[k][0] += 1;
    out[k][1] += m.duration;
  }
  return Object.entries(out).map(([k, [n, ms]]) => `${k} ${n}× ${ms.toFixed(0)} ms`).join(', ');
});

/** With BENCH_PROFILE=FILE, the push is profiled by Chromium's sampling profiler: the profile is
 * written to FILE (open it in DevTools) and the functions with the most self time printed. */
async function profile(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return {
    async stop() {
      const { profile: p } = await cdp.send('Profiler.stop');
      writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(p));
      const self = new Map();
      const dt = new Map();
      p.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
      for (const n of p.nodes) {
        const f = n.callFrame;
        const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
        self.set(k, (self.get(k) ?? 0) + (dt.get(n.id) ?? 0) / 1000);
      }
      const total = [...self.values()].reduce((a, b) => a + b, 0);
      console.log(`profile of the push (${total.toFixed(0)} ms sampled), most self time:`);
      for (const [k, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
        console.log(`  ${ms.toFixed(0).padStart(6)} ms ${(100 * ms / total).toFixed(1).padStart(5)} %  ${k}`);
      }
    },
  };
}

const SYNC = ['push', 'pull', 'checksum'];
/** Requests made, and the sync's own bytes a record beside everything the link carried. */
function traffic(t, records) {
  const requests = Object.values(t.requests).reduce((a, b) => a + b, 0);
  const sync = SYNC.reduce((a, k) => a + (t.body[k] ?? 0), 0);
  const each = SYNC.filter((k) => t.body[k]).map((k) => `${k} ${(t.body[k] / records).toFixed(0)}`).join(', ');
  return `${requests} requests ${JSON.stringify(t.requests)}; sync bodies ${sync} B (${(sync / records).toFixed(0)} B a record: ${each}), `
    + `everything on the link ${t.bytes} B\n  on the phone: ${t.steps}`;
}
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

console.log(`machine: ${os.cpus()[0].model.trim()}, ${os.cpus().length} cores; Chromium ${execFileSync(process.env.CHROMIUM_BIN || '/usr/bin/chromium', ['--version']).toString().trim()}`);
console.log(`link: +${DELAY} ms a request; ${RECORDS} records of ~${JSON.stringify(deliberationCase(PULLED, '议题1:修缮小区第1号路灯', 1)).length} B JSON`);

const empty = await loggedIn(EMPTY, 0);
const atEmpty = await saves(empty.page, '空');
await empty.context.close();
const small = await loggedIn(SMALL, RECORDS / 10);
const atSmall = await saves(small.page, '千');
await small.context.close();
const full = await loggedIn(PULLED, RECORDS);
console.log(`fresh phone pulls ${RECORDS}: ${(full.pull.ms / 1000).toFixed(2)} s from the login; ${traffic(full.pull, RECORDS)}`);
console.log(`fresh phone pulls ${RECORDS / 10}: ${(small.pull.ms / 1000).toFixed(2)} s from the login; ${traffic(small.pull, RECORDS / 10)}`);
const atFull = await saves(full.page, '万');
for (const [n, s] of [[0, atEmpty], [RECORDS / 10, atSmall], [RECORDS, atFull]]) {
  console.log(`save with ${n} stored (${SAVES} saves): store ${spread(s.store)}; button to the case in the list ${spread(s.shown)}`);
}

// The home screen again with all of them stored, the app from the service worker's cache.
const opened = performance.now();
await full.page.reload();
await full.page.waitForSelector('li[data-testid="record"]');
const home = performance.now() - opened;
const rows = await full.page.locator('li[data-testid="record"]').count();
console.log(`home screen with ${RECORDS + SAVES} stored: first records shown ${home.toFixed(0)} ms after the reload, ${rows} rows drawn`);
const mem = await memory(full);
console.log(`tab memory with ${RECORDS + SAVES} stored: JS heap ${mib(mem.heap)}, renderer resident ${mem.renderer ? mib(mem.renderer) : 'not read'}`);
await full.context.close();

// A phone that made RECORDS offline sends them: one saved through the form, the others its
// copies under new ids written beside it in the app's own stores, in one transaction.
const pusher = await loggedIn(PUSHER, 0);
await pusher.context.setOffline(true);
await pusher.page.click('a[data-form="deliberation_case"]', { timeout: 10_000 }).catch(async (e) => {
  throw new Error(`${e.message}; the phone shows:\n${await pusher.page.evaluate(() => document.body.innerText)}`);
});
await fillCase(pusher.page, '离线记的议事');
await pusher.page.click('button:has-text("保存")');
await pusher.page.waitForSelector('li[data-testid="record"]:has-text("离线记的议事")');
await pusher.page.evaluate((n) => new Promise((resolve, reject) => {
  const v7 = (ms) => {
    const id = crypto.randomUUID();
    return `${ms.toString(16).padStart(12, '0').replace(/^(.{8})/, '$1-')}-7${id.slice(15)}`;
  };
  const open = indexedDB.open('shequ');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(['records', 'outbox', 'meta'], 'readwrite');
    tx.objectStore('outbox').getAll().onsuccess = (e) => {
      const [out] = e.target.result;
      tx.objectStore('records').get(out.record).onsuccess = (r) => {
        const record = JSON.stringify(r.target.result);
        const sent = JSON.stringify(out);
        const base = Date.now();
        for (let i = 1; i < n; i++) {
          const id = v7(base + i);
          const rev = v7(base + i);
          const swap = (s) => JSON.parse(s.replaceAll(out.record, id).replaceAll(out.rev, rev));
          tx.objectStore('records').put(swap(record));
          tx.objectStore('outbox').put(swap(sent));
        }
        // As the app's own writes do: a page that keeps the records in memory sees them changed.
        const meta = tx.objectStore('meta');
        meta.get('generation').onsuccess = (g) => {
          meta.put({ key: 'generation', value: String(Number(g.target.result?.value ?? 0) + 1) });
        };
      };
    };
    tx.oncomplete = () => { db.close(); resolve(); };
    tx.onerror = () => reject(tx.error);
  };
}), RECORDS);
if ((await held(pusher.page, 'outbox')) !== RECORDS) throw new Error('the outbox was not filled');
pusher.link.take();
await pusher.page.evaluate(() => performance.clearMeasures());
const profiler = process.env.BENCH_PROFILE ? await profile(pusher.page) : null;
const pushStarted = performance.now();
await pusher.context.setOffline(false);
await pusher.page.click('button:has-text("同步")').catch(() => {});
await until(`push of ${RECORDS}`, async () => (await held(pusher.page, 'outbox')) === 0 && settled(pusher.page), pusher.page);
const pushed = { ms: performance.now() - pushStarted, ...pusher.link.take(), steps: await steps(pusher.page) };
if (profiler) await profiler.stop();
console.log(`push of ${RECORDS}: ${(pushed.ms / 1000).toFixed(2)} s from the sync button; ${traffic(pushed, RECORDS)}`);

for (const p of phones) {
  await p.context.close();
  await p.link.close();
}
await server.stop();
