// A helper takes up a wish from the public wall, on a 360 × 740 phone with real keystrokes: the
// offer reaches the village worker's phone, the worker accepts it, the wish is recorded as 认领
// with the helper's name and kind and syncs, the wall shows it taken up, and the helper's receipt
// says it was accepted. Then the wish comes true: the worker records 完成 with a photo and the
// resident's feedback, and the wall and the county's figures show it. The plan is the 2018 plan
// moved to this year, so that 认领 and 完成 are dated today.
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
/** The village worker's phone, kept from the offer to the fulfilment. */
let worker;

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

  worker = await phone();
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

test('the wish comes true with a photo and the resident\'s feedback, and the wall and the figures show it', async () => {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  await worker.click('li[data-testid="record"]:has-text("一台电暖器") a');
  await worker.selectOption('select[name="field-status"]', '完成');
  await worker.fill('input[name="field-status-完成"]', today);
  await worker.selectOption('select[name="field-rating"]', '满意');
  await worker.click('textarea[name="field-feedback"]');
  await worker.keyboard.type('冬天屋里暖和了,谢谢');
  // The photo of the heater delivered, as the phone's camera gives it.
  const b64 = await worker.evaluate(async () => {
    const c = new OffscreenCanvas(3000, 4000);
    const g = c.getContext('2d');
    g.fillStyle = '#a52';
    g.fillRect(0, 0, 3000, 4000);
    g.fillStyle = '#fd3';
    g.fillRect(600, 900, 1800, 2200);
    const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  });
  await worker.locator('.field[data-field="photos"] input[type="file"]')
    .setInputFiles({ name: '送电暖器.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(b64, 'base64') });
  await worker.waitForFunction(() => document.querySelector('.field[data-field="photos"] img[data-testid="photo"]')?.naturalHeight === 1280, null, { timeout: 20_000 });
  await worker.click('button:has-text("保存")');
  await shown(worker, 'li[data-testid="record"]:has-text("一台电暖器") [data-testid="record-step"]:has-text("完成")');
  await worker.click('button:has-text("同步")').catch(() => {});
  await worker.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].every((r) => r.dataset.synced === 'true')
      && document.querySelector('[data-testid="photos-waiting"]') == null,
    null,
    { timeout: 30_000 },
  );

  // On the server: done today, with its photo held and the resident's words kept.
  const token = await apiToken(server.url, 'county');
  const pulled = await apiGet(server.url, token, `/api/sync/pull?scope=${VILLAGE}&after=0`);
  const latest = pulled.changes.filter((c) => c.revision.record === wishId).at(-1).revision.content;
  assert.equal(latest.status.dates['完成'], today);
  assert.equal(latest.feedback, '冬天屋里暖和了,谢谢');
  assert.equal(latest.photos.length, 1);
  const photo = await fetch(`${server.url}/api/photos/${latest.photos[0]}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(photo.status, 200);

  // The wall shows it done and the resident satisfied, and neither the photo nor their words.
  const stranger = await phone();
  await stranger.goto(`${server.url}/wall/${TOWN}`);
  const card = stranger.locator('li.item:has-text("一台电暖器")');
  assert.equal(await card.getAttribute('data-state'), '完成');
  assert.match(await card.innerText(), /满意/);
  assert.doesNotMatch(await stranger.locator('main').innerText(), /冬天屋里暖和了/);
  assert.equal(await stranger.locator('main img').count(), 0);

  // The county's figures: the village's one wish done, in as many days as it took.
  const days = (Date.parse(today) - Date.parse(`${YEAR}-01-03`)) / 86_400_000;
  const report = await apiGet(server.url, token, `/api/report/${TOWN}?plan=offers-test`);
  const village = report.children.find((c) => c.area.code === VILLAGE);
  const cell = (id) => village.cells.find((c) => c.indicator === id);
  assert.equal(cell('micro_wishes_fulfilled').value, 100);
  assert.equal(cell('micro_wish_days').value, days);
  assert.equal(cell('micro_wishes_satisfied').value, 100);
});
