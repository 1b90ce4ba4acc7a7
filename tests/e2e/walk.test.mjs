// The walking skeleton end to end, in real Chromium: a village worker records deliberation cases
// with the network cut, the app reloads from its service worker with the cases still there and
// unsynced, they sync by themselves when the network returns, and the county and town pages show
// them against the targets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { launchBrowser, startServer, tempDir, root, login, apiToken, apiGet, shown } from './harness.mjs';

const dir = tempDir('shequ-e2e-');
const db = path.join(dir, 'e2e.db');
let server;
let context;
let supervisor;

after(async () => {
  await context?.close();
  await supervisor?.close();
  await server?.stop();
});

async function fillCase(page, { topic, success }) {
  await page.click('a[data-form="deliberation_case"]');
  await page.selectOption('select[name="field-forum"]', '邻里议事会');
  await page.fill('input[name="field-topic"]', topic);
  const steps = ['民事民提', '民事民议', '民事民决', '民事民办', '民事民评'];
  const reached = success ? steps : steps.slice(0, 2);
  await page.selectOption('select[name="field-steps"]', reached[reached.length - 1]);
  for (const [i, s] of reached.entries()) {
    await page.fill(`input[name="field-steps-${s}"]`, `2018-0${i + 3}-15`);
  }
  await page.selectOption('select[name="field-feedback"]', success ? 'true' : 'false');
  await page.fill('input[name="field-participants"]', '23');
  await page.click('button:has-text("保存")');
  await page.waitForSelector(`li[data-testid="record"]:has-text("${topic}")`);
}

test('a case recorded offline reaches the county chart', async () => {
  server = await startServer({ db });
  context = await launchBrowser();
  const page = await context.newPage();
  await page.goto(server.url + '/');

  // The village worker logs in.
  await login(page, 'village-610324001001');
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');

  // The service worker has the whole shell, the .wasm included.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(async () => {
    const keys = await caches.keys();
    if (!keys.length) return false;
    const cache = await caches.open(keys[0]);
    return (await cache.keys()).some((r) => r.url.endsWith('.wasm'));
  });
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the page is controlled');

  // The app is installable: Chromium reports no installability errors.
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);

  // Cut the network (and stop the server, so only the service worker can answer).
  const port = server.port;
  await server.stop();
  await context.setOffline(true);
  await fillCase(page, { topic: '小区停车难议事', success: true });
  await page.reload();
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');
  const first = page.locator('li[data-testid="record"]:has-text("小区停车难议事")');
  await first.waitFor();
  assert.equal(await first.getAttribute('data-synced'), 'false');
  assert.equal((await first.locator('[data-testid="sync-mark"]').textContent()).trim(), '未同步');

  // A second case while still offline.
  await fillCase(page, { topic: '楼道照明议事', success: false });
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-status"]')?.textContent.includes('2条未同步'));

  // The network returns: the pending cases sync by themselves.
  server = await startServer({ db, listen: `127.0.0.1:${port}` });
  await context.setOffline(false);
  await page.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].every((r) => r.dataset.synced === 'true')
      && document.querySelectorAll('li[data-testid="record"]').length === 2,
    null,
    { timeout: 30_000 },
  );
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-status"]')?.textContent.includes('全部已同步'));
  // And the 同步 button syncs on demand.
  await page.click('button:has-text("同步")');
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-status"]')?.textContent.includes('全部已同步'));

  const token = await apiToken(server.url, 'county');
  const pulled = await apiGet(server.url, token, '/api/sync/pull?scope=610324001001&after=0');
  assert.equal(pulled.changes.length, 2, 'the server holds each case once');

  // The county supervisor's page: the headline indicator by town, and every indicator in the table.
  const plan = await (await fetch(`${server.url}/api/plan`)).json();
  supervisor = await launchBrowser();
  const county = await supervisor.newPage();
  await county.goto(server.url + '/');
  await login(county, 'county');
  await county.waitForSelector('a:has-text("县级看板")');
  await county.goto(server.url + '/county');
  await shown(county, '[data-testid="chart-title"]:has-text("议事成功案例")');
  await county.waitForSelector('g[data-testid="bar"]', { state: 'attached' });
  assert.equal(await county.locator('g[data-testid="bar"]').count(), 8, 'a bar per town');
  assert.equal(await county.locator('table[data-testid="figures"] tbody tr').count(), plan.indicators.length);
  const row = county.locator('tr[data-indicator="deliberation_success"]');
  assert.equal((await row.locator('td').nth(0).textContent()).trim(), '1个');
  const chengguan = await county.locator('g[data-testid="bar"]:has-text("城关街道") .bar-value').textContent();
  assert.equal(chengguan.trim(), '1个');

  // The town page: the same for its villages.
  await county.click('a:has-text("城关街道")');
  await county.waitForSelector('[data-testid="report-title"]:has-text("城关街道")');
  await county.waitForSelector('g[data-testid="bar"]:has-text("飞凤社区居委会")', { state: 'attached' });
  const villages = readFileSync(path.join(root, 'seeds/fufeng-areas.csv'), 'utf8').split('\n').filter((l) => l.includes(',village,610324001')).length;
  assert.equal(await county.locator('g[data-testid="bar"]').count(), villages);
  const feifeng = await county.locator('g[data-testid="bar"]:has-text("飞凤社区居委会") .bar-value').textContent();
  assert.equal(feifeng.trim(), '1个');
});
