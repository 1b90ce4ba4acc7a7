// The county fills a town's target into the decomposition table it exported and sends it back
// from the report page on a phone: the page says how many targets it took and shows the town's
// new target; a sheet with wrong cells is refused, every cell named, and changes nothing.
//
// The sheet is edited as a county office would in Excel, one cell's content replaced in the
// workbook's XML (./xlsx.mjs), so what goes back is the exported file with one cell changed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { launchBrowser, startServer, tempDir, login } from './harness.mjs';
import { address, editCells, readCells } from './xlsx.mjs';

const PHONE = { width: 360, height: 740 };
const TOWN = '610324001';
const dir = tempDir('shequ-targets-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

/** The address of a town's target of an indicator in the table, found by the headings. */
function targetCell(cells, indicatorName, code) {
  const heading = Object.entries(cells).find(([ref, text]) => /^[A-Z]+3$/.test(ref)
    && (text === indicatorName || text.startsWith(`${indicatorName}(`)));
  assert.ok(heading, `no heading ${indicatorName}`);
  const col = heading[0].replace(/\d+$/, '');
  const row = Object.entries(cells).find(([ref, text]) => /^A\d+$/.test(ref) && text === code);
  assert.ok(row, `no row ${code}`);
  return `${col}${row[0].slice(1)}`;
}

/** The town's cell of an indicator on the county's report: its title says the target. */
async function townTarget(page, indicator) {
  const heads = await page.locator('table[data-testid="figures"] thead th').allTextContents();
  const i = heads.indexOf('城关街道');
  assert.ok(i >= 3, heads.join('|'));
  return page.locator(`table[data-testid="figures"] tr[data-indicator="${indicator}"] td`).nth(i - 1).getAttribute('title');
}

test('the county sends back an edited table from the report page and the new target shows', async () => {
  server = await startServer({ db: path.join(dir, 'targets.db') });
  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, 'county');
  await page.click('a.tile:has-text("县级看板")');
  await page.waitForSelector('table[data-testid="figures"]');
  const was = await townTarget(page, 'deliberation_success');
  assert.notEqual(was, '目标 ≥7个');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('[data-testid="export-table"]'),
  ]);
  const exported = path.join(dir, 'exported.xlsx');
  await download.saveAs(exported);
  const original = fs.readFileSync(exported);
  const cells = readCells(original);
  const cell = targetCell(cells, '议事成功案例', TOWN);

  // A sheet with a wrong cell and an unknown unit: both named, nothing taken.
  const lastRow = Math.max(...Object.keys(cells).map((ref) => Number(ref.replace(/^[A-Z]+/, ''))));
  const stranger = address(lastRow - 1, 0);
  const bad = path.join(dir, 'bad.xlsx');
  fs.writeFileSync(bad, editCells(original, { [cell]: '很多', [stranger]: '610324999' }));
  await page.setInputFiles('[data-testid="import-targets"]', bad);
  const errors = page.locator('[data-testid="import-errors"]');
  await errors.waitFor();
  const listed = await errors.locator('li').allTextContents();
  assert.deepEqual(listed, [`${cell}: 应为数字`, `${stranger}: 不认识的单位 610324999`]);
  assert.equal(await townTarget(page, 'deliberation_success'), was);

  // The same table with the town's target filled in.
  const good = path.join(dir, 'good.xlsx');
  fs.writeFileSync(good, editCells(original, { [cell]: 7 }));
  await page.setInputFiles('[data-testid="import-targets"]', good);
  await page.waitForSelector('[data-testid="import-note"]:has-text("已导入 1 个目标")');
  await page.waitForFunction(() => {
    const heads = [...document.querySelectorAll('table[data-testid="figures"] thead th')].map((h) => h.textContent);
    const i = heads.indexOf('城关街道');
    const td = document.querySelectorAll('table[data-testid="figures"] tr[data-indicator="deliberation_success"] td')[i - 1];
    return td?.getAttribute('title') === '目标 ≥7个';
  });
  assert.equal(await page.locator('[data-testid="import-errors"]').count(), 0);

  // The town's own page says it too.
  await page.click(`a[href="/town/${TOWN}"]`);
  await page.waitForSelector('table[data-testid="figures"]');
  const own = await page.locator('table[data-testid="figures"] tr[data-indicator="deliberation_success"] td.target').textContent();
  assert.equal(own.trim(), '≥7个');
});

test('the county types a town target on the target page: a wrong one says why, a good one reaches the report', async () => {
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await page.click('a.tile:has-text("各镇目标")');
  await page.selectOption('[data-testid="target-indicator"]', 'deliberation_success');
  const box = page.locator(`tr[data-town="${TOWN}"] [data-testid="town-target"]`);
  assert.equal(await box.inputValue(), '7', 'the target imported above');
  const save = page.locator('[data-testid="save-targets"]');
  assert.ok(await save.isDisabled(), 'nothing typed, nothing to save');

  // Typed as a worker types: a fraction for a count of cases.
  await box.click();
  await page.keyboard.press('End');
  await page.keyboard.type('.5');
  await page.locator(`tr[data-town="${TOWN}"] [data-testid="target-error"]:has-text("应为整数")`).waitFor();
  assert.ok(await save.isDisabled(), 'a wrong target is not sent');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await page.keyboard.type('12');
  assert.equal(await page.locator('[data-testid="target-error"]').count(), 0);

  // A second indicator's box keeps what was typed in the first when shown again.
  await page.selectOption('[data-testid="target-indicator"]', 'deliberation_cases');
  await page.selectOption('[data-testid="target-indicator"]', 'deliberation_success');
  assert.equal(await box.inputValue(), '12');
  assert.equal((await save.textContent()).trim(), '保存 1 个改动');
  await save.click();
  await page.waitForSelector('[data-testid="targets-note"]:has-text("已保存 1 个目标")');
  assert.equal(await box.inputValue(), '12');
  assert.ok(await save.isDisabled());

  await page.goto(server.url + '/county');
  await page.waitForSelector('table[data-testid="figures"]');
  assert.equal(await townTarget(page, 'deliberation_success'), '目标 ≥12个');
  await page.close();
});

test('targets typed while the link fails or stays silent are kept on the page until a save reaches the server', async () => {
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/targets');
  await page.selectOption('[data-testid="target-indicator"]', 'deliberation_success');
  const box = page.locator(`tr[data-town="${TOWN}"] [data-testid="town-target"]`);
  const save = page.locator('[data-testid="save-targets"]');
  const note = page.locator('[data-testid="targets-note"]');
  await box.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('15');

  // The link drops: the save fails, says so, and what was typed stays to be sent again.
  const saves = /\/api\/report\/\d+\/targets$/;
  await page.route(saves, (route) => route.abort('internetdisconnected'));
  await save.click();
  await note.filter({ hasText: '未能保存' }).waitFor();
  assert.equal(await box.inputValue(), '15');
  assert.equal((await save.textContent()).trim(), '保存 1 个改动');
  await page.unroute(saves);

  // Lie-fi: the request goes out and nothing comes back. The save gives up in the app's time
  // limit, not never, and the typed target is still there.
  let heard = 0;
  await page.route(saves, () => { heard += 1; });
  const sent = Date.now();
  await save.click();
  assert.ok(await save.isDisabled(), 'one save at a time');
  await note.filter({ hasText: '未能保存' }).waitFor({ timeout: 20_000 });
  assert.equal(heard, 1);
  assert.ok(Date.now() - sent >= 7_000, 'gave up before the time limit');
  assert.equal(await box.inputValue(), '15');
  await page.unroute(saves);

  // The server had none of it; the link back, the same click saves it.
  await save.click();
  await note.filter({ hasText: '已保存 1 个目标' }).waitFor();
  await page.goto(server.url + '/county');
  await page.waitForSelector('table[data-testid="figures"]');
  assert.equal(await townTarget(page, 'deliberation_success'), '目标 ≥15个');

  // Offline from the start: the page says it cannot read the towns' targets, and does not hang.
  await context.setOffline(true);
  await page.goto(server.url + '/targets').catch(() => {});
  await page.locator('[role="alert"]:has-text("无法读取")').waitFor({ timeout: 20_000 });
  await context.setOffline(false);
  await page.close();
});
