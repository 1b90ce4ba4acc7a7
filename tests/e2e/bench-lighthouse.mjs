// Lighthouse 12 with its mobile defaults (simulated: 4× CPU slowdown, 150 ms round trips,
// 1.6 Mbit/s) on the login page of a fresh phone and on a village worker's home in a logged-in
// profile; then the repeat visit with no network at 4× CPU slowdown, timed from navigation to
// the first form on the screen. Prints its figures; `cargo xtask bench-lighthouse` runs it (a
// benchmark, not a test). Lighthouse comes from npm into target/lighthouse.
//
//   node tests/e2e/bench-lighthouse.mjs [repeat visits=5]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { root, startServer, tempDir, login } from './harness.mjs';

const [VISITS = 5] = process.argv.slice(2).map(Number);
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const LIGHTHOUSE = path.join(root, 'target/lighthouse/node_modules/.bin/lighthouse');
const FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const WORKER = 'village-610324001001';

const dir = tempDir('shequ-lighthouse-');
const server = await startServer({ db: path.join(dir, 'lighthouse.db') });

/** One Lighthouse run of `url`; with `profile`, in that Chromium profile and keeping its storage. */
function lighthouse(name, url, profile) {
  const out = path.join(dir, `${name}.json`);
  const flags = profile ? [...FLAGS, `--user-data-dir=${profile}`] : FLAGS;
  execFileSync(LIGHTHOUSE, [url, '--output=json', `--output-path=${out}`, '--only-categories=performance',
    '--quiet', `--chrome-flags=${flags.join(' ')}`, ...(profile ? ['--disable-storage-reset'] : [])],
  { env: { ...process.env, CHROME_PATH: CHROMIUM }, stdio: ['ignore', 'ignore', 'inherit'] });
  const report = JSON.parse(readFileSync(out, 'utf8'));
  const a = report.audits;
  const ms = (id) => `${Math.round(a[id].numericValue).toLocaleString('en')} ms`;
  console.log(`${name}: performance ${Math.round(report.categories.performance.score * 100)}, `
    + `FCP ${ms('first-contentful-paint')}, LCP ${ms('largest-contentful-paint')}, `
    + `TBT ${ms('total-blocking-time')}, SI ${ms('speed-index')}, CLS ${a['cumulative-layout-shift'].numericValue.toFixed(3)}`);
  const lcp = a['largest-contentful-paint-element']?.details?.items?.[0]?.items?.[0]?.node?.snippet;
  if (lcp) console.log(`  LCP element: ${lcp}`);
}

/** A persistent profile of a worker who has logged in once, with the app's shell kept. */
async function loggedInProfile() {
  const profile = tempDir('shequ-lighthouse-profile-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 360, height: 740 }, locale: 'zh-CN', args: FLAGS.slice(1),
  });
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(server.url + '/');
  await login(page, WORKER);
  await page.waitForSelector('a.tile[data-form]');
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.waitForSelector('[data-testid="sync-status"]:has-text("与服务器一致")', { timeout: 60_000 }).catch(() => {});
  await context.close();
  return profile;
}

lighthouse('login page, fresh phone', server.url + '/');
const profile = await loggedInProfile();
lighthouse('worker home, logged in', server.url + '/', profile);

// The repeat visit with no network: the service worker's shell, the session and records from
// IndexedDB. Ready = the first form tile in the DOM, seen by an observer installed before any
// script of the page runs.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, viewport: { width: 360, height: 740 }, locale: 'zh-CN', args: FLAGS.slice(1),
});
await context.addInitScript(() => {
  new MutationObserver((_, observer) => {
    if (document.querySelector('a.tile[data-form]')) {
      window.__shequReady = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
});
const page = context.pages()[0] ?? await context.newPage();
await page.goto(server.url + '/');
await page.waitForSelector('a.tile[data-form]');
const cdp = await context.newCDPSession(page);
await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
await context.setOffline(true);
const times = [];
for (let i = 0; i < VISITS; i++) {
  await page.reload();
  await page.waitForFunction(() => window.__shequReady !== undefined, null, { timeout: 30_000 });
  times.push(await page.evaluate(() => window.__shequReady));
}
times.sort((x, y) => x - y);
console.log(`repeat visit offline, 4× CPU slowdown, ${VISITS} visits: ready p50 ${Math.round(times[Math.floor(VISITS / 2)])} ms, `
  + `fastest ${Math.round(times[0])} ms, slowest ${Math.round(times[VISITS - 1])} ms (navigation to the first form tile)`);
await context.close();
await server.stop();
