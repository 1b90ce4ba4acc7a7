// What a village worker types into a form, on a 360 × 740 phone screen, with real keystrokes:
// number fields keep exactly what was typed and save the exact figure, a refused save takes the
// worker to the first field that needs a change, and a half-filled form is offered back, not
// forced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, apiToken, apiGet, draftOf, waitForDraft } from './harness.mjs';

const VILLAGE = '610324001001';
let server;
let context;
let page;

before(async () => {
  server = await startServer({ db: path.join(tempDir('shequ-fields-'), 'fields.db') });
  context = await launchBrowser();
  page = await context.newPage();
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(server.url + '/');
  await login(page, `village-${VILLAGE}`);
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');
});

after(async () => {
  await context?.close();
  await server?.stop();
});

const input = (field) => page.locator(`[name="field-${field}"]`);

/** Types into a field key by key, as a phone's keyboard does. */
async function type(field, text) {
  await input(field).click();
  await page.keyboard.press('End');
  await page.keyboard.type(text);
}

async function value(field) {
  return input(field).inputValue();
}

async function open(form) {
  await page.click(`a[data-form="${form}"]`);
}

async function back() {
  await page.click('a.back');
  await page.waitForSelector('a[data-form]');
}

/** Fills the fields of a volunteer activity other than its numbers. */
async function fillActivity(title) {
  await input('title').fill(title);
  await input('date').fill('2018-05-04');
  await page.check('.field[data-field="service"] label:has-text("助老") input');
}

async function save() {
  await page.click('button:has-text("保存")');
}

/** The saved records of the village, by title field, as the server holds them after sync. */
async function onServer(titleField) {
  await page.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].every((r) => r.dataset.synced === 'true'),
    null,
    { timeout: 30_000 },
  );
  const token = await apiToken(server.url, 'county');
  const pulled = await apiGet(server.url, token, `/api/sync/pull?scope=${VILLAGE}&after=0`);
  return Object.fromEntries(pulled.changes.map((c) => [c.revision.content[titleField], c.revision.content]));
}

/** Runs in the page: whether an element is in view below the sticky title bar. */
function inView(el) {
  const r = el.getBoundingClientRect();
  const bar = document.querySelector('header.bar').getBoundingClientRect().bottom;
  return r.top >= bar && r.bottom <= window.innerHeight;
}

/** The name of the focused input, and whether it is in view. */
async function focused() {
  const el = await page.evaluateHandle(() => document.activeElement);
  return { name: await el.getAttribute('name'), inView: await el.evaluate(inView) };
}

async function isInView(field) {
  return input(field).evaluate(inView);
}

async function waitForFocus(field) {
  await page.waitForFunction((n) => document.activeElement?.getAttribute('name') === n, `field-${field}`);
  return focused();
}

async function messageUnder(field) {
  return (await page.locator(`.field[data-field="${field}"] .error`).textContent()).trim();
}

test('number fields keep exactly what is typed, and the exact figure is saved', async () => {
  // An integer field (volunteers) and a decimal field (hours), ASCII and full-width digits.
  await open('volunteer_activity');
  await fillActivity('敬老院打扫');
  await type('volunteers', '23');
  assert.equal(await value('volunteers'), '23');
  await type('hours', '1.5');
  assert.equal(await value('hours'), '1.5');
  await page.keyboard.press('Backspace');
  assert.equal(await value('hours'), '1.');
  await page.keyboard.press('Backspace');
  assert.equal(await value('hours'), '1');
  await page.keyboard.type('200');
  assert.equal(await value('hours'), '1200');
  await save();
  await page.waitForSelector('li[data-testid="record"]:has-text("敬老院打扫")');

  await open('volunteer_activity');
  await fillActivity('河道清理');
  // A Chinese IME composes the digits, then commits them.
  await input('volunteers').click();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Input.imeSetComposition', { text: '１', selectionStart: 1, selectionEnd: 1 });
  await cdp.send('Input.imeSetComposition', { text: '１２', selectionStart: 2, selectionEnd: 2 });
  await cdp.send('Input.insertText', { text: '１２' });
  await cdp.detach();
  assert.equal(await value('volunteers'), '１２');
  await type('hours', '２．５');
  assert.equal(await value('hours'), '２．５');
  await save();
  await page.waitForSelector('li[data-testid="record"]:has-text("河道清理")');

  await open('volunteer_activity');
  await fillActivity('义诊');
  await type('volunteers', '1200');
  assert.equal(await value('volunteers'), '1200');
  await type('hours', '1.5');
  assert.equal(await value('hours'), '1.5');
  await save();
  await page.waitForSelector('li[data-testid="record"]:has-text("义诊")');

  const saved = await onServer('title');
  assert.deepEqual([saved['敬老院打扫'].volunteers, saved['敬老院打扫'].hours], [23, 1200]);
  assert.deepEqual([saved['河道清理'].volunteers, saved['河道清理'].hours], [12, 2.5]);
  assert.deepEqual([saved['义诊'].volunteers, saved['义诊'].hours], [1200, 1.5]);

  // An edit shows the saved figure, and takes more keystrokes as typed.
  await page.click('li[data-testid="record"]:has-text("义诊") a');
  await input('hours').waitFor();
  assert.equal(await value('hours'), '1.5');
  await type('hours', '0');
  assert.equal(await value('hours'), '1.50');
  await back();
});

test('a refused save lists the problems on top and takes the worker to the first invalid field', async () => {
  // A facility's form is longer than the screen; its required fields come first.
  await open('facility');
  await type('indoor_area', '1.0.5');
  await type('households', '1.5');
  assert.equal(await value('households'), '1.5');
  await page.locator('button:has-text("保存")').scrollIntoViewIfNeeded();
  assert.ok(!(await isInView('name')), 'the top of the form is out of view when 保存 is pressed');
  await save();

  const summary = page.locator('[data-testid="form-errors"]');
  await summary.waitFor();
  const listed = (await summary.locator('li').allTextContents()).map((t) => t.trim());
  assert.deepEqual(listed, [
    '设施名称:必填',
    '设施类型:必填',
    '通知点名的2018年建设任务:必填',
    '建设状态:必填',
    '室内服务用房总面积:应为数字',
    '服务户数:应为整数',
  ]);
  assert.deepEqual(await waitForFocus('name'), { name: 'field-name', inView: true });
  assert.equal(await messageUnder('name'), '必填');
  assert.ok(page.url().endsWith('/new/facility'), 'nothing was saved');

  // With the top of the form filled in, the first invalid field is a number further down.
  await input('name').fill('飞凤社区服务中心');
  await page.selectOption('select[name="field-kind"]', '社区服务中心');
  await page.selectOption('select[name="field-project"]', '飞凤社区省级标准化示范社区');
  await page.selectOption('select[name="field-status"]', '规划');
  await page.evaluate(() => window.scrollTo(0, 0));
  await save();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="form-errors"] li').length === 2);
  assert.deepEqual(await waitForFocus('indoor_area'), { name: 'field-indoor_area', inView: true });
  assert.equal(await messageUnder('indoor_area'), '应为数字');
  assert.equal(await value('indoor_area'), '1.0.5', 'the typed text stays for the worker to mend');

  await input('indoor_area').fill('');
  await type('indoor_area', '120.5');
  await type('work_area', '80');
  await type('resident_area', '40.5');
  await page.evaluate(() => window.scrollTo(0, 0));
  await save();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="form-errors"] li').length === 1);
  assert.deepEqual(await waitForFocus('households'), { name: 'field-households', inView: true });
  assert.equal(await messageUnder('households'), '应为整数');

  await page.keyboard.press('End');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  assert.equal(await value('households'), '1');
  await page.keyboard.type('36');
  await save();
  await page.waitForSelector('li[data-testid="record"]:has-text("飞凤社区服务中心")');
  const saved = (await onServer('name'))['飞凤社区服务中心'];
  assert.deepEqual([saved.indoor_area, saved.work_area, saved.resident_area, saved.households], [120.5, 80, 40.5, 136]);
});

test('a draft is offered when the form is opened again: continue it or discard it', async () => {
  await open('volunteer_activity');
  await fillActivity('没填完的活动');
  await type('volunteers', '１２');
  await type('hours', '1.');
  // The draft keeps the text as typed.
  await waitForDraft(page, 'volunteer_activity', (d) => d?.volunteers === '１２' && d?.hours === '1.');
  await back();

  // Opened again: the choice comes first, and the form waits for it.
  await open('volunteer_activity');
  const offer = page.locator('[data-testid="draft-offer"]');
  await offer.waitFor();
  assert.ok(!(await input('title').isVisible()), 'the form waits for the choice');
  await offer.locator('button:has-text("继续上次填写")').click();
  assert.equal(await value('title'), '没填完的活动');
  assert.equal(await value('volunteers'), '１２');
  assert.equal(await value('hours'), '1.');
  await offer.waitFor({ state: 'detached' });
  await back();

  // 丢弃: an empty form, and the draft is gone.
  await open('volunteer_activity');
  await offer.waitFor();
  await offer.locator('button:has-text("丢弃")').click();
  await input('title').waitFor();
  assert.equal(await value('title'), '');
  assert.equal(await value('volunteers'), '');
  await waitForDraft(page, 'volunteer_activity', (d) => d === null);
  await back();
  await open('volunteer_activity');
  await input('title').waitFor();
  assert.equal(await offer.count(), 0, 'nothing is offered once the draft is discarded');

  // A draft continued and saved is not offered again.
  await fillActivity('接着填完的活动');
  await type('hours', '2.');
  await waitForDraft(page, 'volunteer_activity', (d) => d?.hours === '2.');
  await back();
  await open('volunteer_activity');
  await offer.locator('button:has-text("继续上次填写")').click();
  await type('hours', '5');
  assert.equal(await value('hours'), '2.5');
  await save();
  await page.waitForSelector('li[data-testid="record"]:has-text("接着填完的活动")');
  assert.equal(await draftOf(page, 'volunteer_activity'), null);
  await open('volunteer_activity');
  await input('title').waitFor();
  assert.equal(await offer.count(), 0);
  assert.equal((await onServer('title'))['接着填完的活动'].hours, 2.5);
});
