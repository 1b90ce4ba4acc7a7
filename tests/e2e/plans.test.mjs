// A phone offline across the change of plan loses nothing: a village worker records a 2018 case
// with the network cut while the county loads its 2019 plan; back online, the case syncs as a
// 2018 record, the phone offers 2019's forms for new records, the 2018 record still opens, edits
// and syncs under its own plan, and each plan's report counts only its own records.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, apiToken, apiGet } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const VILLAGE = '610324001001';
const CASE_FORM = 'deliberation_case';
const dir = tempDir('shequ-plans-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

const statusIncludes = (page, text) => page.waitForFunction(
  (t) => document.querySelector('[data-testid="sync-status"]')?.textContent.includes(t),
  text,
  { timeout: 30_000 },
);

/** Waits until the phone lists `n` records and every one of them is synced. */
const allSynced = (page, n) => page.waitForFunction(
  (count) => {
    const rows = [...document.querySelectorAll('li[data-testid="record"]')];
    return rows.length === count && rows.every((r) => r.dataset.synced === 'true');
  },
  n,
  { timeout: 30_000 },
);

/** Types at the end of a text field as a worker does, key by key. */
async function type(page, selector, text) {
  await page.click(selector);
  await page.keyboard.press('End');
  await page.keyboard.type(text);
}

const levelOf = (form) => form.level ?? 'village';
const optionsOf = (plan, form, field) => plan.forms.find((f) => f.id === form)
  .fields.find((f) => f.id === field).options;

test('a phone offline across the change of plan keeps its 2018 record in 2018 and offers 2019\'s forms', async () => {
  const db = path.join(dir, 'plans.db');
  server = await startServer({ db });
  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, `village-${VILLAGE}`);
  await page.waitForSelector('h1:has-text("飞凤社区")');
  await statusIncludes(page, '全部已同步');

  // The network goes (and the server with it): a 2018 case is recorded on the phone.
  const port = server.port;
  await server.stop();
  await context.setOffline(true);
  await page.click(`a[data-form="${CASE_FORM}"]`);
  await page.selectOption('select[name="field-forum"]', '邻里议事会');
  const topic = '村口道路硬化议事';
  await type(page, 'input[name="field-topic"]', topic);
  await page.selectOption('select[name="field-steps"]', '民事民提');
  await page.fill('input[name="field-steps-民事民提"]', '2018-04-02');
  await page.click('button:has-text("保存")');
  const record = page.locator(`li[data-testid="record"]:has-text("${topic}")`);
  await record.waitFor();
  assert.equal(await record.getAttribute('data-synced'), 'false');

  // Meanwhile the county loads its 2019 plan, which becomes current.
  server = await startServer({ db, listen: `127.0.0.1:${port}`, env: { SHEQU_PLANS: 'seeds' } });
  const token = await apiToken(server.url, 'county');
  const summaries = await apiGet(server.url, token, '/api/plans');
  const current = summaries.find((p) => p.current);
  const old = summaries.find((p) => !p.current);
  assert.ok(current && old && current.year > old.year, `two plans, the later one current: ${JSON.stringify(summaries)}`);
  const plan = {};
  for (const p of summaries) plan[p.id] = await apiGet(server.url, token, `/api/plans/${p.id}`);
  const ids = (p) => new Set(plan[p.id].forms.map((f) => f.id));
  const added = plan[current.id].forms.filter((f) => !ids(old).has(f.id) && levelOf(f) === 'village');
  const removed = plan[old.id].forms.filter((f) => !ids(current).has(f.id));
  assert.ok(added.length > 0 && removed.length > 0, 'the later plan adds a village form and removes one');

  // Back online: the case syncs, as a record of the plan it was made in.
  await context.setOffline(false);
  await allSynced(page, 1);
  let pulled = await apiGet(server.url, token, `/api/sync/pull?scope=${VILLAGE}&after=0`);
  assert.deepEqual(pulled.changes.map((c) => c.revision.plan), [old.id], 'the server holds the case in the earlier plan');
  assert.match(await record.locator('[data-testid="record-plan"]').textContent(), new RegExp(String(old.year)));

  // New records: the current plan's forms, the added one offered and the removed one gone.
  for (const f of added) await page.waitForSelector(`a[data-form="${f.id}"]`);
  for (const f of removed) assert.equal(await page.locator(`a[data-form="${f.id}"]`).count(), 0);
  await page.click(`a[data-form="${CASE_FORM}"]`);
  await page.waitForSelector('select[name="field-forum"]');
  const offered = async () => (await page.locator('select[name="field-forum"] option').allTextContents())
    .filter((o) => o !== '请选择');
  assert.deepEqual(await offered(), optionsOf(plan[current.id], CASE_FORM, 'forum'));
  await page.click('a:has-text("返回")');
  for (const f of removed) {
    await page.goto(`${server.url}/new/${f.id}`);
    await page.waitForSelector('text=找不到这个表单');
  }
  await page.goto(server.url + '/');

  // The 2018 record opens with its own plan's form, edits and syncs again.
  await page.click(`li[data-testid="record"]:has-text("${topic}") a`);
  await page.waitForSelector('input[name="field-topic"]');
  assert.equal(await page.locator('text=计划中没有这个表单').count(), 0);
  assert.match(await page.locator('[data-testid="record-plan"]').textContent(), new RegExp(String(old.year)));
  assert.deepEqual(await offered(), optionsOf(plan[old.id], CASE_FORM, 'forum'));
  await type(page, 'input[name="field-topic"]', '(已修改)');
  await page.click('button:has-text("保存")');
  await page.waitForSelector(`li[data-testid="record"]:has-text("${topic}(已修改)")`);
  await allSynced(page, 1);
  pulled = await apiGet(server.url, token, `/api/sync/pull?scope=${VILLAGE}&after=0`);
  const latest = pulled.changes.at(-1).revision;
  assert.equal(latest.content.topic, `${topic}(已修改)`);
  assert.equal(latest.plan, old.id, 'the edit stays in the earlier plan');

  // The report of each plan counts only its own records, and opens on the plan's headline.
  const counting = plan[old.id].indicators.find((i) => i.measure.form === CASE_FORM && !i.measure.filter?.length);
  await page.goto(`${server.url}/unit/${VILLAGE}`);
  const cases = page.locator(`tr[data-indicator="${counting.id}"] td`).first();
  for (const [p, n] of [[old, 1], [current, 0]]) {
    await page.selectOption('[data-testid="plan-select"]', p.id);
    const headline = plan[p.id].indicators.find((i) => i.headline);
    await page.waitForSelector(`[data-testid="chart-title"]:has-text("${headline.name}")`);
    await page.waitForFunction(
      ([id, want]) => document.querySelector(`[data-testid="figures"]`)?.dataset.plan === id
        && document.querySelector(`tr[data-indicator="${want}"]`),
      [p.id, counting.id],
    );
    assert.equal(parseInt(await cases.textContent(), 10), n, `${p.id} counts its own cases`);
  }
});
