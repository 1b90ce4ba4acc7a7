// Work points 17 and 19 on a 360 × 740 phone with no network. A person's continuing-education
// archive (继续教育档案): the worker adds two staff and their trainings with real keystrokes, opens
// each person and sees their trainings, their hours and the hours the plan asks of them; once
// online, the county reads the same judgement in the village's figure. The cleanup that lightens
// the community's burden (减负): what the worker records reaches the county's figures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, apiToken, apiGet, shown } from './harness.mjs';

const PHONE = { width: 360, height: 740 };

const VILLAGE = '610324001001';
let server;
let context;
let page;

before(async () => {
  server = await startServer({ db: path.join(tempDir('shequ-archive-'), 'archive.db') });
  context = await launchBrowser();
  page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, `village-${VILLAGE}`);
  await shown(page, 'a[data-form="training"]');
});

after(async () => {
  await context?.close();
  await server?.stop();
});

const input = (field) => page.locator(`[name="field-${field}"]`);

async function type(field, text) {
  await input(field).click();
  await page.keyboard.type(text);
}

async function save(title) {
  await page.click('button:has-text("保存")');
  await shown(page, `li[data-testid="record"]:has-text("${title}")`);
}

async function addStaff(name, role) {
  await page.click('a[data-form="staff"]');
  await type('name', name);
  await input('role').selectOption(role);
  await save(name);
}

async function addTraining(name, course, date, hours) {
  await page.click('a[data-form="training"]');
  await page.waitForSelector(`[name="field-person"] option:has-text("${name}")`, { state: 'attached' });
  await input('person').selectOption({ label: name });
  await type('course', course);
  await input('date').fill(date);
  await type('hours', hours);
  await save(course);
}

/** Opens a person's record and reads their archive: the standing line and each training row. */
async function archiveOf(name) {
  await page.click(`li[data-testid="record"]:has-text("${name}") a`);
  const archive = await shown(page, '[data-testid="person-archive"]');
  const standing = (await archive.$eval('[data-testid="archive-total"]', (e) => e.textContent)).trim();
  const rows = await archive.$$eval('.archive-rows li', (ls) => ls.map((l) => l.textContent.replace(/\s+/g, ' ').trim()));
  const heading = await archive.$eval('h2', (e) => e.textContent);
  await page.click('a.back');
  await shown(page, 'a[data-form="training"]');
  return { heading, standing, rows };
}

test('each person shows their trainings and hours against what the plan asks, offline, and the county counts them alike', async () => {
  await context.setOffline(true);
  await addStaff('白志远', '两委成员');
  await addStaff('方静怡', '其他工作人员');
  await addTraining('白志远', '村级财务管理', '2018-06-12', '24');
  await addTraining('白志远', '民主议事规程', '2018-03-08', '12.5');
  await addTraining('方静怡', '网格化服务管理', '2018-04-20', '8');

  const han = await archiveOf('白志远');
  assert.equal(han.heading, '本人的培训记录');
  assert.equal(han.standing, '合计 36.5课时,要求不少于 40课时:还差 3.5课时');
  assert.deepEqual(han.rows, ['2018-03-08 民主议事规程 12.5课时', '2018-06-12 村级财务管理 24课时']);
  const tang = await archiveOf('方静怡');
  assert.equal(tang.standing, '合计 8课时,要求不少于 20课时:还差 12课时');

  // One more training takes 白志远 over the 40 hours of a two-committee member.
  await addTraining('白志远', '社会救助政策', '2018-09-01', '4');
  const after = await archiveOf('白志远');
  assert.equal(after.standing, '合计 40.5课时,要求不少于 40课时:已达标');
  assert.equal(after.rows.length, 3);
  // A training row opens that training.
  await page.click('li[data-testid="record"]:has-text("白志远") a');
  await page.click('[data-testid="person-archive"] .archive-rows li:has-text("社会救助政策") a');
  assert.equal(await input('course').inputValue(), '社会救助政策');
  await page.click('a.back');

  // Online, the village's figure counts one of its two people as meeting their hours.
  await context.setOffline(false);
  await page.click('button:has-text("同步")').catch(() => {});
  await page.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].length >= 6
      && [...document.querySelectorAll('li[data-testid="record"]')].every((r) => r.dataset.synced === 'true'),
    null,
    { timeout: 30_000 },
  );
  const token = await apiToken(server.url, 'county');
  const town = await apiGet(server.url, token, `/api/report/${VILLAGE.slice(0, 9)}`);
  const village = town.children.find((c) => c.area.code === VILLAGE);
  const cell = village.cells.find((c) => c.indicator === 'staff_training_hours');
  assert.deepEqual([cell.num, cell.den, cell.value], [1, 2, 50]);
});

test('the signboards and meetings a village cleared show on the county\'s figures', async () => {
  await context.setOffline(true);
  await page.click('a[data-form="burden_cut"]');
  await type('item', '部门加挂的工作站牌子');
  await input('kind').selectOption('撤除加挂牌子');
  await type('department', '县综治办');
  // A quantity of 0 is refused on its field, and nothing is saved.
  await type('quantity', '0');
  await input('date').fill('2018-05-10');
  await page.click('button:has-text("保存")');
  await shown(page, '[data-testid="form-errors"]:has-text("清理数量")');
  await input('quantity').fill('');
  await type('quantity', '3');
  await save('部门加挂的工作站牌子');
  await page.click('a[data-form="burden_cut"]');
  await type('item', '部门单独召开的推进会');
  await input('kind').selectOption('精简会议');
  await type('quantity', '6');
  await input('date').fill('2018-06-01');
  await save('部门单独召开的推进会');

  await context.setOffline(false);
  await page.click('button:has-text("同步")').catch(() => {});
  await page.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].every((r) => r.dataset.synced === 'true'),
    null,
    { timeout: 30_000 },
  );

  const county = await launchBrowser();
  try {
    const p = await county.newPage();
    await p.setViewportSize(PHONE);
    await p.goto(server.url + '/');
    await login(p, 'county');
    await p.click('a.tile:has-text("县级看板")');
    await p.waitForSelector('table[data-testid="figures"]');
    const figure = async (id) => {
      const row = p.locator(`table[data-testid="figures"] tr[data-indicator="${id}"]`);
      return [(await row.locator('th, td').first().textContent()).trim(), (await row.locator('td').first().textContent()).trim()];
    };
    assert.deepEqual(await figure('signboards_removed'), ['减负:撤除加挂牌子', '3块']);
    assert.deepEqual(await figure('meetings_cut'), ['减负:精简社区会议', '6次/年']);
    assert.equal((await figure('ledgers_cut'))[1], '0个');
  } finally {
    await county.close();
  }
});

