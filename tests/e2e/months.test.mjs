// Progress by month: a town supervisor's report charts the chosen indicator at the end of each
// month against the target's pace to its due month, lists each village by month, and opens the
// records counted by a month; the whole report can be read "as of" a month's end. Offline, only
// today's figures (kept on the phone) can be read, and the page says so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, pushAs, deliberationCase } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const TOWN = '610324001';
const FEIFENG = '610324001001';
const dir = tempDir('shequ-months-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

/** A case of 飞凤 that went through all five steps within `month` (`2018-03`), with feedback. */
function doneIn(month, topic, n) {
  const c = deliberationCase(FEIFENG, topic, n, { device: 'months-test', success: true });
  c.content.steps.dates = { 民事民提: `${month}-01`, 民事民议: `${month}-03`, 民事民决: `${month}-05`, 民事民办: `${month}-08`, 民事民评: `${month}-20` };
  return c;
}

const push = (changes) => pushAs(server.url, `village-${FEIFENG}`, changes, 'months-test');

const points = (page) => page.locator('[data-testid="month-chart"] [data-testid="month-point"]').evaluateAll(
  (cs) => cs.map((c) => [c.dataset.month, Number(c.dataset.value)]),
);

test('a town charts an indicator month by month against its pace, and reads the report as of a month', async () => {
  server = await startServer({ db: path.join(dir, 'months.db') });
  await push([doneIn('2018-03', '三月的议事', 0), doneIn('2018-07', '七月的议事', 1)]);

  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, `town-${TOWN}`);
  await page.waitForSelector('h1:has-text("城关街道")');
  await page.goto(`${server.url}/town/${TOWN}`);
  await page.waitForSelector('[data-testid="month-chart-title"]:has-text("议事成功案例 · 按月进度")');
  await page.waitForSelector('[data-testid="month-chart"]');
  const months = await points(page);
  assert.equal(months.length, 12);
  assert.deepEqual(months.map(([, v]) => v), [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], 'each case from the month it reached 民事民评');
  assert.equal(months[0][0], '2018-01');
  // The town's target is its villages' summed; the pace climbs to it by December.
  assert.equal(await page.locator('[data-testid="month-chart"] [data-testid="pace"]').count(), 1);
  assert.equal(await page.locator('[data-testid="due-mark"]').getAttribute('data-month'), '2018-12');
  assert.equal(await page.locator('[data-testid="month-chart-empty"]').count(), 0);
  const april = page.locator(`[data-testid="month-table"] tr[data-unit="${FEIFENG}"] td`).nth(3);
  assert.equal((await april.textContent()).trim(), '1个');

  // A point opens the records counted by that month's end: April holds March's case only.
  await page.locator('[data-testid="month-point"][data-month="2018-04"]').dispatchEvent('click');
  await page.waitForURL(/\/records\?/);
  assert.equal(new URL(page.url()).searchParams.get('as_of'), '2018-04');
  await page.waitForFunction(() => document.querySelectorAll('li[data-testid="listed-record"]').length === 1);
  assert.match(await page.locator('li[data-testid="listed-record"]').textContent(), /三月的议事/);
  await page.goBack();

  // The whole report as of the end of April: 飞凤 has one case, and its figure opens that month.
  await page.waitForSelector('[data-testid="as-of-select"]');
  await page.selectOption('[data-testid="as-of-select"]', '2018-04');
  await page.waitForSelector('[data-testid="figures-as-of"]:has-text("2018年4月底的数据")');
  const cell = page.locator(`tr[data-indicator="deliberation_success"] a.figure-link[href*="unit=${FEIFENG}&"]`);
  assert.equal((await cell.textContent()).trim(), '1个');
  assert.match(await cell.getAttribute('href'), /as_of=2018-04/);
  await page.selectOption('[data-testid="as-of-select"]', '');
  await page.waitForSelector('[data-testid="figures-as-of"]:has-text("数据截至")');
  assert.equal((await cell.textContent()).trim(), '2个');

  // The named facilities are due by the end of October, as the notice says.
  await page.selectOption('[data-testid="indicator-select"]', 'named_projects_in_use');
  await page.waitForSelector('[data-testid="month-chart"][data-indicator="named_projects_in_use"]');
  assert.equal(await page.locator('[data-testid="due-mark"]').getAttribute('data-month'), '2018-10');
  assert.equal(await page.locator('[data-testid="month-chart-empty"]').count(), 1, 'an empty chart says why');

  // Offline, a past month cannot be read, and the page says why; today's figures still show.
  await context.setOffline(true);
  await page.selectOption('[data-testid="as-of-select"]', '2018-05');
  await page.waitForSelector('[role="alert"]:has-text("离线时只能查看当前的数据")');
  await page.selectOption('[data-testid="as-of-select"]', '');
  await page.waitForSelector('[data-testid="kept-figures"]');
  await context.setOffline(false);
});

test('a report reads on a phone: long names wrap, the first column stays, an empty chart says why', async () => {
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(`${server.url}/town/${TOWN}`);
  await page.waitForSelector('[data-testid="bar"]');
  // 胜利机械厂社区居委会 in two lines of the chart's labels, every character kept.
  const label = page.locator('[data-testid="bar"] text.bar-label', { hasText: '胜利' });
  const lines = await label.locator('tspan').allTextContents();
  assert.ok(lines.length >= 2, lines.join('|'));
  assert.equal(lines.join(''), '胜利机械厂社区居委会');
  assert.equal(await page.locator('[data-testid="chart-title"]').textContent(), '议事成功案例(按村(社区))');
  // The table scrolls sideways under a pinned column of indicators.
  const pinned = await page.locator('table[data-testid="figures"] tbody th.ind').first().evaluate((e) => getComputedStyle(e).position);
  assert.equal(pinned, 'sticky');
  const scroller = page.locator('table[data-testid="figures"]').locator('xpath=..');
  const before = await page.locator('table[data-testid="figures"] tbody th.ind').first().boundingBox();
  assert.ok(await scroller.evaluate((e) => { e.scrollLeft = 200; return e.scrollLeft; }) > 0, 'the table is wider than the phone');
  const afterScroll = await page.locator('table[data-testid="figures"] tbody th.ind').first().boundingBox();
  assert.ok(Math.abs(afterScroll.x - before.x) < 1, `the indicators' column stays: ${before.x} → ${afterScroll.x}`);
  await page.close();

  // A town without villages on record: no "(按)" with nothing in it, and the chart says why.
  const other = await launchBrowser();
  try {
    const county = await other.newPage();
    await county.setViewportSize(PHONE);
    await county.goto(server.url + '/');
    await login(county, 'county');
    await county.waitForSelector('a.tile:has-text("县级看板")');
    await county.goto(`${server.url}/town/610324101`);
    await county.waitForSelector('[data-testid="chart-title"]');
    assert.equal(await county.locator('[data-testid="chart-title"]').textContent(), '议事成功案例');
    await county.waitForSelector('[data-testid="chart-empty"]:has-text("没有下级单位")');
  } finally {
    await other.close();
  }
});
