// A helper takes up a wish from the public wall, on a 360 × 740 phone with real keystrokes: the
// offer reaches the village worker's phone, the worker accepts it, the wish is recorded as 认领
// with the helper's name and kind and syncs, the wall shows it taken up, and the helper's receipt
// says it was accepted. The plan is the 2018 plan moved to this year, so that 认领 is dated today.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { newPhone, startServer, tempDir, login, pushAs, apiToken, apiGet, shown, root } from './harness.mjs';

const VILLAGE = '610324001001';
const TOWN = '610324001';
const YEAR = new Date().getFullYear();
let server;
const contexts = [];
const wishId = randomUUID();

before(async () => {
  const dir = tempDir('shequ-offers-');
  const plan = readFileSync(path.join(root, 'seeds/plan-2018.toml'), 'utf8')
    .replace('id = "fufeng-2018"', 'id = "offers-test"')
    .replace('year = 2018', `year = ${YEAR}`)
    .replaceAll('2018-', `${YEAR}-`);
  writeFileSync(path.join(dir, 'plan.toml'), plan);
  server = await startServer({ db: path.join(dir, 'offers.db'), env: { SHEQU_PLAN: path.join(dir, 'plan.toml') } });
  await pushAs(server.url, `village-${VILLAGE}`, [{
    record: wishId,
    rev: randomUUID(),
    parent: null,
    device: 'offers-test',
    clock: 1 << 16,
    form: 'micro_wish',
    unit: VILLAGE,
    deleted: false,
    content: {
      wish: '一台电暖器',
      category: '助老',
      resident: '张大爷',
      status: { state: '发布', dates: { 收集: `${YEAR}-01-02`, 发布: `${YEAR}-01-03` } },
    },
  }]);
});

after(async () => {
  for (const c of contexts) await c.close();
  await server?.stop();
});

const phone = () => newPhone(contexts);

test('a helper\'s offer from the wall is accepted on the worker\'s phone and the wish is taken up', async () => {
  const helper = await phone();
  await helper.goto(`${server.url}/wall/${TOWN}`);
  await shown(helper, 'li.item:has-text("一台电暖器")');
  await helper.click('li.item:has-text("一台电暖器") summary');
  await helper.click('input[name="name"]');
  await helper.keyboard.type('爱心人士刘先生');
  await helper.click('input[name="phone"]');
  await helper.keyboard.type('13800001234');
  await helper.selectOption('select[name="kind"]', '爱心人士');
  await helper.click('textarea[name="note"]');
  await helper.keyboard.type('周末可以送到家里');
  await helper.click('button:has-text("提交认领申请")');
  await shown(helper, '[data-testid="receipt"]:has-text("等待村(社区)确认")');
  const receipt = helper.url();
  assert.match(new URL(receipt).pathname, /^\/wall\/offer\/[0-9a-f-]{36}$/);

  const worker = await phone();
  await worker.goto(server.url + '/');
  await login(worker, `village-${VILLAGE}`);
  const offer = await shown(worker, '[data-testid="offer"]:has-text("一台电暖器")');
  const text = await offer.textContent();
  assert.match(text, /爱心人士刘先生 · 爱心人士 · 13800001234/);
  assert.match(text, /周末可以送到家里/);
  await worker.click('[data-testid="offer"] button:has-text("接受")');
  await worker.waitForSelector('[data-testid="offers"]', { state: 'detached' });
  assert.equal(await worker.locator('[data-testid="offer-message"]').count(), 0);
  await shown(worker, 'li[data-testid="record"]:has-text("一台电暖器") [data-testid="record-step"]:has-text("认领")');
  await worker.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].every((r) => r.dataset.synced === 'true'),
    null,
    { timeout: 30_000 },
  );

  // On the server: taken up today, by the helper, of the kind they gave.
  const token = await apiToken(server.url, 'county');
  const pulled = await apiGet(server.url, token, `/api/sync/pull?scope=${VILLAGE}&after=0`);
  const latest = pulled.changes.filter((c) => c.revision.record === wishId).at(-1).revision.content;
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  assert.equal(latest.status.state, '认领');
  assert.equal(latest.status.dates['认领'], today);
  assert.equal(latest.claimant, '爱心人士刘先生');
  assert.equal(latest.claimed_by, '爱心人士');

  // The wall shows it taken up, with no form to offer again, and the helper is told.
  await helper.goto(`${server.url}/wall/${TOWN}`);
  const card = helper.locator('li.item:has-text("一台电暖器")');
  assert.equal(await card.getAttribute('data-state'), '认领');
  assert.equal(await card.locator('form').count(), 0);
  assert.doesNotMatch(await helper.locator('main').innerText(), /刘先生|13800001234|张大爷/);
  await helper.goto(receipt);
  await shown(helper, '[data-testid="receipt"]:has-text("已接受您的认领")');
});
