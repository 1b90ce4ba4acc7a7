// Every figure drills down: a supervisor taps a figure of the report (a table cell or a bar) and
// sees the records behind it, as many as the figure counts, then opens one read-only and reads its
// history: every revision, who made it, and what changed field by field. A county account reads
// all of it from the server; a town supervisor's phone marks where its copies stand, shows its
// own copy and asks the server for the history.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { launchBrowser, startServer, tempDir, login, apiToken, deliberationCase } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };
const TOWN = '610324001';
const FEIFENG = '610324001001';
const XIGUAN = '610324001201';
const ELSEWHERE = '610324103001';
const dir = tempDir('shequ-drill-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

/** A deliberation case of `unit`; a successful one has all five steps and feedback given. */
const deliberation = (unit, topic, success) => deliberationCase(unit, topic, 0, { device: 'drill-test', success });

/** The next revision of `of`, changed by `change`. */
function edited(of, change) {
  const next = structuredClone(of);
  next.rev = randomUUID();
  next.parent = of.rev;
  next.clock = of.clock + 1;
  change(next.content);
  return next;
}

async function push(token, changes) {
  const r = await fetch(`${server.url}/api/sync/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ device: 'drill-test', changes }),
  });
  assert.equal(r.status, 200);
  const answer = await r.json();
  for (const res of answer.results) assert.equal(res.outcome, 'stored', JSON.stringify(res));
}

/** A second worker of 飞凤, made by the county administrator, with a password of their own. */
async function secondWorker() {
  const county = await apiToken(server.url, 'county');
  const made = await fetch(`${server.url}/api/admin/accounts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${county}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'wanger', name: '王二', role: 'village_worker', unit: FEIFENG, password: 'Once2once2x' }),
  });
  assert.equal(made.status, 200);
  const token = await apiToken(server.url, 'wanger', 'Once2once2x');
  const changed = await fetch(`${server.url}/api/auth/password`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ old: 'Once2once2x', new: 'Wang2er2feng' }),
  });
  assert.equal(changed.status, 200);
  return token;
}

const figureLink = (page, unit, indicator) => page.locator(`a.figure-link[href*="unit=${unit}&indicator=${indicator}&"]`);
const listedCount = (page) => page.locator('li[data-testid="listed-record"]').count();
/** The number a figure shows (`5个` → 5). */
const numberOf = (text) => Number(text.trim().match(/^\d+/)[0]);

/** Waits until the list has settled: no page being read, and no more to load. */
async function settledList(page) {
  await page.waitForSelector('[data-testid="record-pages"]');
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="record-pages"]');
    return s && !s.textContent.includes('读取中') && !s.querySelector('[data-testid="load-more"]');
  });
}

test('a supervisor taps a figure, sees the records behind it, and reads a record with its history', async () => {
  server = await startServer({ db: path.join(dir, 'drill.db') });
  const feifeng = await apiToken(server.url, `village-${FEIFENG}`);
  const road = deliberation(FEIFENG, '修路灯', false);
  const cases = [road, deliberation(FEIFENG, '垃圾分类', true), deliberation(FEIFENG, '停车位', false)];
  await push(feifeng, cases);
  await push(await apiToken(server.url, `village-${XIGUAN}`), [deliberation(XIGUAN, '修渠', true), deliberation(XIGUAN, '路灯', false)]);
  await push(await apiToken(server.url, `village-${ELSEWHERE}`), [deliberation(ELSEWHERE, '外镇的议事', true)]);
  // Two edits by two people: the topic by the village's worker, then the participants by another.
  const renamed = edited(road, (c) => { c.topic = '修缮路灯'; });
  await push(feifeng, [renamed]);
  await push(await secondWorker(), [edited(renamed, (c) => { c.participants = 30; })]);

  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, 'county');
  await page.click('a.tile:has-text("县级看板")');
  await page.waitForSelector('table[data-testid="figures"]');

  // A cell of the table: the town's cases.
  const cell = figureLink(page, TOWN, 'deliberation_cases');
  const figure = numberOf(await cell.textContent());
  assert.equal(figure, 5);
  await cell.click();
  await page.waitForURL(/\/records\?/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('unit'), TOWN);
  assert.equal(url.searchParams.get('indicator'), 'deliberation_cases');
  assert.ok(url.searchParams.get('plan'));
  await settledList(page);
  assert.equal(await listedCount(page), figure, 'as many records as the figure counts');
  await page.waitForSelector('[data-testid="figure-records-title"]:has-text("城关街道")');
  const items = await page.locator('li[data-testid="listed-record"]').allTextContents();
  assert.ok(items.every((t) => !t.includes('外镇的议事')), 'only the town\'s records');
  const road_item = page.locator('li[data-testid="listed-record"]:has-text("修缮路灯")');
  const shown = await road_item.textContent();
  assert.match(shown, /飞凤社区居委会/);
  assert.match(shown, /议事案例|议事/);
  assert.match(shown, /民事民提/);
  assert.match(shown, /飞凤社区居委会\(演示\) 填报于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);

  // The record, read-only, with its history.
  await road_item.locator('a').click();
  await page.waitForURL(/\/view\//);
  await page.waitForSelector('[data-testid="record-view"]:has-text("修缮路灯")');
  assert.equal(await page.locator('[data-testid="record-view"] input, [data-testid="record-view"] select').count(), 0, 'read-only');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-entry"]').length === 3);
  const authors = await page.locator('[data-testid="history-author"]').allTextContents();
  assert.deepEqual(authors, ['王二', '飞凤社区居委会(演示)', '飞凤社区居委会(演示)'], 'newest first, by name');
  const changes = (await page.locator('[data-testid="field-change"]').allTextContents()).map((t) => t.replace(/\s+/g, ''));
  assert.ok(changes.includes('议事主题:修路灯→修缮路灯'), changes.join(' | '));
  assert.ok(changes.includes('参与人数:12人→30人'), changes.join(' | '));

  // A bar of the chart: the successful cases of the town.
  await page.goBack();
  await page.goBack();
  await page.waitForSelector('table[data-testid="figures"]');
  await page.selectOption('select[data-testid="indicator-select"]', 'deliberation_success');
  const bar = page.locator(`g[data-testid="bar"][data-href*="unit=${TOWN}&indicator=deliberation_success&"]`);
  const barFigure = numberOf(await bar.locator('text.bar-value').textContent());
  assert.equal(barFigure, 2);
  await bar.click();
  await page.waitForURL(/indicator=deliberation_success/);
  await settledList(page);
  assert.equal(await listedCount(page), barFigure);
  assert.deepEqual(
    (await page.locator('li[data-testid="listed-record"] .title').allTextContents()).sort(),
    ['垃圾分类', '修渠'].sort(),
  );

  // On a desktop the same: the address links to the same list.
  await page.setViewportSize(DESKTOP);
  await page.goto(server.url + '/county');
  await page.waitForSelector('table[data-testid="figures"]');
  const village = figureLink(page, TOWN, 'deliberation_cases');
  await village.click();
  await page.waitForURL(/\/records\?/);
  await settledList(page);
  assert.equal(await listedCount(page), figure);
  await page.close();
});

/** A new page on a phone that holds nothing yet, logged in as `who`. */
async function freshPhone(who) {
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await context.clearCookies();
  await page.goto(server.url + '/');
  await page.evaluate(() => new Promise((resolve) => {
    const del = indexedDB.deleteDatabase('shequ');
    del.onsuccess = del.onerror = del.onblocked = () => resolve();
  }));
  await page.reload();
  await login(page, who);
  // The login form goes once the session is kept on the phone: a test that goes elsewhere
  // before that would find the phone logged out.
  await page.waitForSelector('form[data-testid="login"]', { state: 'detached' });
  return page;
}

/** How many records the phone holds in IndexedDB. */
const heldRecords = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('shequ');
  open.onupgradeneeded = () => open.transaction.abort();
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const count = open.result.transaction('records').objectStore('records').count();
    count.onsuccess = () => { open.result.close(); resolve(count.result); };
    count.onerror = () => reject(count.error);
  };
}));

test('a town supervisor\'s phone lists a figure\'s records with their sync state, opens its own copy and asks for the history', async () => {
  assert.ok(server, 'runs after the first test, on its records');
  const page = await freshPhone(`town-${TOWN}`);
  // The town is synced down whole: its five cases.
  for (let tries = 0; (await heldRecords(page).catch(() => 0)) < 5; tries++) {
    assert.ok(tries < 200, 'the town syncs down');
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.goto(`${server.url}/unit/${TOWN}`);
  await page.waitForSelector('table[data-testid="figures"]');
  const cell = figureLink(page, TOWN, 'deliberation_cases');
  const figure = numberOf(await cell.textContent());
  await cell.click();
  await settledList(page);
  assert.equal(await listedCount(page), figure);
  await page.waitForFunction((n) => document.querySelectorAll('li[data-testid="listed-record"] [data-testid="sync-mark"]').length === n, figure);
  const marks = await page.locator('li[data-testid="listed-record"] [data-testid="sync-mark"]').allTextContents();
  assert.ok(marks.every((m) => m === '已同步'), marks.join(','));

  await page.locator('li[data-testid="listed-record"]:has-text("修缮路灯") a').click();
  await page.waitForSelector('[data-testid="record-view"]:has-text("修缮路灯")');
  // The phone's own copy, read-only; the history only when asked for.
  assert.equal(await page.locator('[data-testid="history-entry"]').count(), 0);
  await page.click('[data-testid="ask-history"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-entry"]').length === 3);
  const changes = (await page.locator('[data-testid="field-change"]').allTextContents()).map((t) => t.replace(/\s+/g, ''));
  assert.ok(changes.includes('参与人数:12人→30人'), changes.join(' | '));
  await page.close();
});

test('the audit trail filters by account and form and opens each entry\'s record', async () => {
  assert.ok(server, 'runs after the first test, on its records');
  const page = await freshPhone('county');
  await page.click('a.tile:has-text("账号与设备")');
  await page.waitForSelector('tr[data-testid="audit-entry"]');
  // Every revision of the first test: six cases, then two edits.
  await page.waitForFunction(() => document.querySelectorAll('tr[data-testid="audit-entry"]').length === 8);
  await page.selectOption('select[data-testid="audit-account"]', 'wanger');
  await page.waitForFunction(() => document.querySelectorAll('tr[data-testid="audit-entry"]').length === 1);
  await page.selectOption('select[data-testid="audit-account"]', '');
  await page.selectOption('select[data-testid="audit-unit"]', XIGUAN);
  await page.waitForFunction(() => document.querySelectorAll('tr[data-testid="audit-entry"]').length === 2);
  await page.selectOption('select[data-testid="audit-form"]', 'fund_audit');
  await page.waitForFunction(() => document.querySelectorAll('tr[data-testid="audit-entry"]').length === 0);
  await page.selectOption('select[data-testid="audit-form"]', '');
  await page.selectOption('select[data-testid="audit-unit"]', '');
  await page.selectOption('select[data-testid="audit-account"]', 'wanger');
  await page.waitForFunction(() => document.querySelectorAll('tr[data-testid="audit-entry"]').length === 1);
  await page.click('a[data-testid="audit-record"]');
  await page.waitForURL(/\/view\//);
  await page.waitForSelector('[data-testid="record-view"]:has-text("修缮路灯")');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-entry"]').length === 3);
  await page.close();
});

test('a record edited hundreds of times shows its newest revisions and how many older ones are left out', async () => {
  assert.ok(server, 'runs after the other tests, on their server');
  const page = await freshPhone('county');
  const feifeng = await apiToken(server.url, `village-${FEIFENG}`);
  let last = deliberation(FEIFENG, '长期跟踪的议题', false);
  const edits = [last];
  for (let i = 0; i < 250; i++) {
    last = edited(last, (c) => { c.participants = 100 + i; });
    edits.push(last);
  }
  await push(feifeng, edits);
  await page.goto(`${server.url}/view/${last.record}`);
  const omitted = await page.waitForSelector('[data-testid="history-omitted"]');
  const entries = await page.locator('[data-testid="history-entry"]').count();
  assert.ok(entries > 0 && entries < edits.length, `${entries} entries`);
  assert.equal(await omitted.textContent(), `更早的 ${edits.length - entries} 次修改未列出`);
  const authors = await page.locator('[data-testid="history-author"]').allTextContents();
  assert.equal(authors.length, entries);
  await page.close();
});
