// Record lists a supervisor and a worker can use, on a 360 px phone. A village worker records
// cases and syncs; the town supervisor's phone lists the town's records under their villages and
// narrows them by form, month, step and title (the filter stays in the address, so back keeps
// it); the worker's list shows each record's date, step and author, newest first, the records a
// colleague pushed from elsewhere included.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openPhone, startServer, tempDir, login, apiToken, fillCase } from './harness.mjs';

const TOWN = '610324001';
const FEIFENG = '610324001001';
const SHENGLI = '610324001004';
const XIGUAN = '610324001201';
const ELSEWHERE = '610324103001';
const dir = tempDir('shequ-lists-');
let server;
const contexts = [];

after(async () => {
  for (const c of contexts) await c.close();
  await server?.stop();
});

const phone = () => openPhone(server, contexts);

let lastMs = 0;
/** A UUIDv7, as a phone makes record ids: the time it was made leads, and each is made later. */
function uuidv7() {
  const b = randomBytes(16);
  lastMs = Math.max(Date.now(), lastMs + 1);
  const ms = BigInt(lastMs);
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function revision(unit, form, content) {
  const id = uuidv7();
  return { record: id, rev: id, parent: null, device: 'lists-test', clock: Date.now() * 65536, form, unit, deleted: false, content };
}

const caseOf = (unit, topic, steps) => revision(unit, 'deliberation_case', { forum: '邻里议事会', topic, steps });

async function push(username, changes, password) {
  const token = await apiToken(server.url, username, password);
  const r = await fetch(`${server.url}/api/sync/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ device: 'lists-test', changes }),
  });
  assert.equal(r.status, 200);
  for (const res of (await r.json()).results) assert.equal(res.outcome, 'stored', JSON.stringify(res));
}

/** A second worker of 飞凤, 王二, made by the county administrator. */
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
  return 'Wang2er2feng';
}

/** The list as shown: each village group's code and its records' titles, in order. */
const groupsOf = (page) => page.$$eval('[data-testid="unit-group"]', (groups) => groups.map((g) => [
  g.dataset.unit,
  [...g.querySelectorAll('li[data-testid="record"] .title')].map((t) => t.textContent),
]));

/** Waits until the supervisor's list shows exactly `want` ([unit, titles] in order). */
async function expectGroups(page, want, what) {
  const text = JSON.stringify(want);
  try {
    await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('[data-testid="unit-group"]')].map((g) => [
      g.dataset.unit,
      [...g.querySelectorAll('li[data-testid="record"] .title')].map((t) => t.textContent),
    ])) === w, text, { timeout: 15_000 });
  } catch {
    // Fails with what was shown instead.
  }
  assert.deepEqual(await groupsOf(page), want, what);
}

/** Today in China, where the records are dated, at a moment (epoch milliseconds). */
const chinaDay = (ms) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);

test('a village record reaches the town list under its village, and the filters and the title search narrow it', async () => {
  server = await startServer({ db: path.join(dir, 'lists.db') });
  const started = Date.now();

  // 飞凤's worker records two cases on the phone, one of them a step further, and syncs.
  const worker = await phone();
  await login(worker, `village-${FEIFENG}`);
  await worker.waitForSelector('[data-testid="sync-bar"]');
  await worker.click('a[data-form="deliberation_case"]');
  await fillCase(worker, '修缮路灯');
  await worker.click('button:has-text("保存")');
  await worker.waitForSelector('li[data-testid="record"]:has-text("修缮路灯")');
  // A colleague records from another phone meanwhile.
  const wanger = await secondWorker();
  await push('wanger', [caseOf(FEIFENG, '王二记的议事', { state: '民事民决', dates: { 民事民提: '2018-02-01', 民事民议: '2018-02-03', 民事民决: '2018-02-09' } })], wanger);
  await worker.click('a[data-form="deliberation_case"]');
  await worker.selectOption('select[name="field-forum"]', '村(居)民议事会');
  await worker.fill('input[name="field-topic"]', '广场舞场地议事');
  await worker.selectOption('select[name="field-steps"]', '民事民议');
  await worker.fill('input[name="field-steps-民事民提"]', '2018-03-01');
  await worker.fill('input[name="field-steps-民事民议"]', '2018-03-08');
  await worker.click('button:has-text("保存")');
  await worker.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].filter((r) => r.dataset.synced === 'true').length === 3,
    null,
    { timeout: 30_000 },
  );

  // The other villages of the town, and a village of another town, record too.
  await push(`village-${SHENGLI}`, [caseOf(SHENGLI, 'LED路灯更换', { state: '民事民提', dates: { 民事民提: '2018-05-10' } })]);
  await push(`village-${XIGUAN}`, [
    caseOf(XIGUAN, '村道硬化议事', { state: '民事民议', dates: { 民事民提: '2018-04-03', 民事民议: '2018-04-20' } }),
    revision(XIGUAN, 'volunteer_activity', { title: '敬老院打扫', date: '2018-04-12', service: ['助老'] }),
  ]);
  await push(`village-${ELSEWHERE}`, [caseOf(ELSEWHERE, '外镇路灯议事', { state: '民事民提', dates: { 民事民提: '2018-04-05' } })]);

  // The worker's list: newest first, each with its date, step and author.
  await worker.click('button:has-text("同步")');
  await worker.waitForSelector('li[data-testid="record"]:has-text("王二记的议事") [data-testid="record-author"]:has-text("王二")', { timeout: 30_000 });
  const rows = await worker.$$eval('li[data-testid="record"]', (lis) => lis.map((li) => ({
    title: li.querySelector('.title').textContent,
    step: li.querySelector('[data-testid="record-step"]')?.textContent,
    author: li.querySelector('[data-testid="record-author"]').textContent,
    date: li.querySelector('[data-testid="record-date"]').textContent,
  })));
  const days = new Set([chinaDay(started), chinaDay(Date.now())]);
  assert.deepEqual(rows.map((r) => [r.title, r.step, r.author]), [
    ['广场舞场地议事', '民事民议', '飞凤社区居委会(演示)'],
    ['王二记的议事', '民事民决', '王二'],
    ['修缮路灯', '民事民提', '飞凤社区居委会(演示)'],
  ], 'newest first, with step and author');
  for (const r of rows) assert.ok(days.has(r.date), `${r.title} is dated the day it was recorded: ${r.date}`);
  assert.ok(!(await worker.locator('li[data-testid="record"]:has-text("村道硬化议事")').count()), 'only the village\'s own records');

  // The town supervisor's phone keeps the town: each record under its village, the town's only.
  const page = await phone();
  await login(page, `town-${TOWN}`);
  await page.waitForSelector('h1:has-text("城关街道")');
  const all = [
    [FEIFENG, ['广场舞场地议事', '王二记的议事', '修缮路灯']],
    [SHENGLI, ['LED路灯更换']],
    [XIGUAN, ['敬老院打扫', '村道硬化议事']],
  ];
  await expectGroups(page, all, 'grouped by village, newest first');
  assert.equal((await page.locator(`[data-testid="unit-group"][data-unit="${FEIFENG}"] h3`).textContent()).trim(), '飞凤社区居委会');
  assert.equal((await page.locator(`[data-testid="unit-group"][data-unit="${SHENGLI}"] h3`).textContent()).trim(), '胜利机械厂社区居委会');
  assert.ok(!(await page.locator('li[data-testid="record"]:has-text("外镇路灯议事")').count()), 'not another town\'s record');
  assert.match(await page.locator(`[data-testid="unit-group"][data-unit="${FEIFENG}"] li:has-text("王二记的议事") [data-testid="record-author"]`).textContent(), /王二/);

  // By form: the volunteer activity leaves.
  await page.selectOption('[data-testid="filter-form"]', 'deliberation_case');
  await expectGroups(page, [all[0], all[1], [XIGUAN, ['村道硬化议事']]], 'cases only');
  // By month, the month each case counts in (when it started): April.
  await page.selectOption('[data-testid="filter-month"]', '2018-04');
  await expectGroups(page, [[FEIFENG, ['修缮路灯']], [XIGUAN, ['村道硬化议事']]], 'the cases of April');
  // By step.
  await page.selectOption('[data-testid="filter-step"]', '民事民议');
  await expectGroups(page, [[XIGUAN, ['村道硬化议事']]], 'April\'s cases at 民事民议');
  assert.match(page.url(), /form=deliberation_case/);
  assert.match(page.url(), /month=2018-04/);

  // By title, in any case, typed as a worker types.
  await page.selectOption('[data-testid="filter-month"]', '');
  await page.selectOption('[data-testid="filter-step"]', '');
  await page.selectOption('[data-testid="filter-form"]', '');
  await expectGroups(page, all, 'the filters cleared');
  await page.click('[data-testid="filter-title"]');
  await page.keyboard.type('led');
  await expectGroups(page, [[SHENGLI, ['LED路灯更换']]], 'a part of the title, in any case');
  await page.fill('[data-testid="filter-title"]', '');
  await page.click('[data-testid="filter-title"]');
  await page.keyboard.type('路灯');
  const lamps = [[FEIFENG, ['修缮路灯']], [SHENGLI, ['LED路灯更换']]];
  await expectGroups(page, lamps, 'every title with 路灯');

  // A village's record opens read-only; back, the search is still there.
  await page.click('li[data-testid="record"]:has-text("LED路灯更换") a');
  await page.waitForURL(/\/view\//);
  await page.waitForSelector('[data-testid="record-view"]');
  await page.goBack();
  await page.waitForSelector('[data-testid="filter-title"]');
  await expectGroups(page, lamps, 'back keeps the search');
  assert.equal(await page.inputValue('[data-testid="filter-title"]'), '路灯');
});
