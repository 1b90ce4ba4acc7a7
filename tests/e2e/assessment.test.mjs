// The unified assessment (综合考核评比): a town supervisor sees the town's villages ranked by the
// plan's items, computed from records only. A village's new records move it up the ranking; its
// breakdown names each item's points and opens the records behind the figure; offline, the
// ranking still reads from the figures the phone kept.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, pushAs, deliberationCase } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const TOWN = '610324001';
const FEIFENG = '610324001001';
const XIGUAN = '610324001201';
const dir = tempDir('shequ-assessment-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

const push = (unit, changes) => pushAs(server.url, `village-${unit}`, changes, 'assessment-test');

const success = (unit, topic, n) => deliberationCase(unit, topic, n, { device: 'assessment-test', success: true });

/** The ranked units as shown: [unit code, place, total]. */
async function ranking(page) {
  return page.locator('[data-testid="ranked-unit"]').evaluateAll((rows) => rows.map((r) => [
    r.dataset.unit,
    r.querySelector('[data-testid="rank"]').textContent.trim(),
    r.querySelector('[data-testid="total"]').textContent.trim(),
  ]));
}

async function waitForFirst(page, unit) {
  await page.waitForFunction((u) => document.querySelector('[data-testid="ranked-unit"]')?.dataset.unit === u, unit);
}

test('a town ranks its villages from their records, and a score opens its records', async () => {
  server = await startServer({ db: path.join(dir, 'assessment.db') });
  await push(FEIFENG, [success(FEIFENG, '广场议事', 0)]);

  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, `town-${TOWN}`);
  await page.waitForSelector('h1:has-text("城关街道")');
  await page.goto(`${server.url}/town/${TOWN}`);
  await page.waitForSelector('[data-testid="assessment"] h2:has-text("综合考核评比")');
  await waitForFirst(page, FEIFENG);
  let rows = await ranking(page);
  assert.deepEqual(rows[0], [FEIFENG, '第1名', '7.5 分'], 'one of the two successful cases the plan asks for: half of 15 points');
  const xiguan = rows.find((r) => r[0] === XIGUAN);
  assert.ok(xiguan, 'every village of the town is ranked');
  assert.equal(xiguan[2], '0 分');
  assert.notEqual(xiguan[1], '第1名');
  assert.ok(rows.every((r) => !r[0].startsWith('610324103')), 'only the town\'s villages');

  // Two successful cases in 西关: it meets the target and moves to the top.
  await push(XIGUAN, [success(XIGUAN, '修渠议事', 1), success(XIGUAN, '敬老院议事', 2)]);
  await page.reload();
  await waitForFirst(page, XIGUAN);
  rows = await ranking(page);
  assert.deepEqual(rows.slice(0, 2), [[XIGUAN, '第1名', '15 分'], [FEIFENG, '第2名', '7.5 分']]);

  // 西关's breakdown: the deliberation item in full, and its figure opens the two cases.
  const row = page.locator(`[data-testid="ranked-unit"][data-unit="${XIGUAN}"]`);
  await row.locator('summary').click();
  const item = row.locator('li[data-item="deliberation"]');
  assert.equal((await item.locator('[data-testid="item-score"]').textContent()).trim(), '15 / 15');
  assert.match(await item.textContent(), /议事成功案例:2个/);
  assert.match(await row.locator('li[data-item="training"] [data-testid="item-score"]').textContent(), /^0 \/ 15$/, 'point 19\'s training, nothing recorded');
  await item.locator('a[data-testid="item-figure"]').click();
  await page.waitForURL(/\/records\?/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('unit'), XIGUAN);
  assert.equal(url.searchParams.get('indicator'), 'deliberation_success');
  await page.waitForFunction(() => document.querySelectorAll('li[data-testid="listed-record"]').length === 2);
  const listed = await page.locator('li[data-testid="listed-record"]').allTextContents();
  assert.ok(listed.some((t) => t.includes('修渠议事')) && listed.some((t) => t.includes('敬老院议事')), listed.join(' | '));

  // Offline, the ranking reads from the figures the phone kept.
  await page.goBack();
  await page.waitForSelector('[data-testid="assessment"]');
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('[data-testid="kept-figures"]');
  await waitForFirst(page, XIGUAN);
  rows = await ranking(page);
  assert.deepEqual(rows.slice(0, 2), [[XIGUAN, '第1名', '15 分'], [FEIFENG, '第2名', '7.5 分']]);
  await context.setOffline(false);
});
