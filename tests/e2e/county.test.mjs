// A county account's phone does not keep the county: it reads the figures from the server, keeps
// the last ones it read and shows them offline with their date, and pages through the county's
// records on demand (加载更多) without storing any of them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, apiToken, deliberationCase } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const VILLAGES = ['610324001001', '610324001201', '610324103001'];
const CASES = 25; // more than one page of records (RECORD_PAGE)
const PAGE = 20;
const dir = tempDir('shequ-county-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

const deliberation = (unit, topic, n) => deliberationCase(unit, topic, n, { device: 'county-test' });

/** Pushes the cases one at a time, each as its village's worker: the last pushed is the newest. */
async function recordCases() {
  const topics = [];
  for (let n = 0; n < CASES; n++) {
    const unit = VILLAGES[n % VILLAGES.length];
    const topic = `县里看到的议事${n}`;
    const token = await apiToken(server.url, `village-${unit}`);
    const r = await fetch(`${server.url}/api/sync/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'county-test', changes: [deliberation(unit, topic, n)] }),
    });
    assert.equal(r.status, 200);
    topics.push(topic);
  }
  return topics;
}

/** What the phone's IndexedDB holds: its records, its outbox, and its pull cursors. */
const held = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('shequ');
  open.onupgradeneeded = () => open.transaction.abort();
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction(['records', 'outbox', 'meta']);
    const out = {};
    tx.objectStore('records').count().onsuccess = (e) => { out.records = e.target.result; };
    tx.objectStore('outbox').count().onsuccess = (e) => { out.outbox = e.target.result; };
    tx.objectStore('meta').getAllKeys().onsuccess = (e) => { out.cursors = e.target.result.filter((k) => k.startsWith('cursor:')); };
    tx.oncomplete = () => { open.result.close(); resolve(out); };
    tx.onerror = () => reject(tx.error);
  };
}));

const casesFigure = (page) => page.locator('table[data-testid="figures"] tr[data-indicator="deliberation_cases"] td').first().textContent();
const listed = (page) => page.locator('li[data-testid="listed-record"] .title').allTextContents();

test('a county account reads figures and records from the server and keeps only the figures', async () => {
  server = await startServer({ db: path.join(dir, 'county.db') });
  const topics = await recordCases();

  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, 'county');

  // Home: the bar says the figures come from the server, never that the county is synced.
  await page.waitForSelector('[data-testid="sync-status"]:has-text("直接读取服务器")');
  const bar = await page.locator('[data-testid="sync-status"]').textContent();
  assert.doesNotMatch(bar, /已同步|一致/);
  // The first page of records, newest first.
  await page.waitForFunction((n) => document.querySelectorAll('li[data-testid="listed-record"]').length === n, PAGE);
  assert.deepEqual(await listed(page), topics.slice(-PAGE).reverse());

  // The county's figures, with their date.
  await page.click('a.tile:has-text("县级看板")');
  await page.waitForSelector('table[data-testid="figures"]');
  assert.equal((await casesFigure(page)).trim(), `${CASES}个`);
  const asOf = (await page.locator('[data-testid="figures-as-of"]').textContent()).trim();
  assert.match(asOf, /^数据截至 \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
  assert.equal(await page.locator('[data-testid="kept-figures"]').count(), 0, 'read from the server just now');

  // Nothing of the county was synced down.
  assert.deepEqual(await held(page), { records: 0, outbox: 0, cursors: [] });

  // Offline, after a reload: the figures kept, with their date, and the page says why.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const port = server.port;
  await server.stop();
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('[data-testid="kept-figures"]:has-text("离线")');
  assert.equal((await casesFigure(page)).trim(), `${CASES}个`);
  assert.equal((await page.locator('[data-testid="figures-as-of"]').textContent()).trim(), asOf);
  assert.deepEqual(await held(page), { records: 0, outbox: 0, cursors: [] });

  // Online again: the records, a page at a time, each once.
  server = await startServer({ db: path.join(dir, 'county.db'), listen: `127.0.0.1:${port}` });
  await context.setOffline(false);
  await page.goto(server.url + '/');
  await page.waitForFunction((n) => document.querySelectorAll('li[data-testid="listed-record"]').length === n, PAGE);
  await page.click('[data-testid="load-more"]');
  await page.waitForFunction((n) => document.querySelectorAll('li[data-testid="listed-record"]').length === n, CASES);
  assert.deepEqual(await listed(page), [...topics].reverse());
  assert.equal(await page.locator('[data-testid="load-more"]').count(), 0, 'no page after the last');
  assert.deepEqual(await held(page), { records: 0, outbox: 0, cursors: [] });
});
