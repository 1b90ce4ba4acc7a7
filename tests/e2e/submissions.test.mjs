// A resident sends a wish in from the public wall on a 360 × 740 phone with real keystrokes; it
// reaches the village worker's phone to check, never the wall; the worker makes it a record with
// the usual form, which starts with what the resident typed, and the resident's receipt says it
// was taken.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { newPhone, startServer, tempDir, login, shown } from './harness.mjs';

const VILLAGE = '610324001001';
const TOWN = '610324001';
let server;
const contexts = [];

before(async () => {
  server = await startServer({ db: path.join(tempDir('shequ-submissions-'), 'submissions.db') });
});

after(async () => {
  for (const c of contexts) await c.close();
  await server?.stop();
});

const phone = () => newPhone(contexts);

async function typeInto(page, selector, text) {
  await page.click(selector);
  await page.keyboard.type(text);
}

test('a resident\'s wish reaches the worker to check and becomes a record, not a wall card', async () => {
  const resident = await phone();
  await resident.goto(`${server.url}/wall/${TOWN}`);
  await resident.click('a:has-text("我要提交微心愿")');
  await shown(resident, 'h1:has-text("提交微心愿")');
  await resident.selectOption('select[name="unit"]', VILLAGE);
  await typeInto(resident, '[name="field-wish"]', '想要一副老花镜看报纸');
  await resident.selectOption('select[name="field-category"]', '助老');
  await typeInto(resident, '[name="field-resident"]', '王阿姨');
  await typeInto(resident, '[name="phone"]', '13800005678');
  await resident.click('button:has-text("提交")');
  await shown(resident, '[data-testid="submission-receipt"]:has-text("等待村(社区)工作人员核实")');
  const receipt = resident.url();
  assert.doesNotMatch(await resident.locator('main').innerText(), /王阿姨|13800005678/);

  const worker = await phone();
  await worker.goto(server.url + '/');
  await login(worker, `village-${VILLAGE}`);
  const sent = await shown(worker, '[data-testid="submission"]:has-text("想要一副老花镜看报纸")');
  const text = await sent.innerText();
  assert.match(text, /王阿姨/);
  assert.match(text, /13800005678/);
  await worker.click('[data-testid="submission"] a:has-text("核实并新建记录")');
  await shown(worker, 'h1:has-text("新建:微心愿")');
  assert.equal(await worker.inputValue('[name="field-wish"]'), '想要一副老花镜看报纸');
  assert.equal(await worker.inputValue('[name="field-resident"]'), '王阿姨');
  assert.equal(await worker.inputValue('[name="field-category"]'), '助老');
  await worker.selectOption('select[name="field-status"]', '收集');
  await worker.fill('input[name="field-status-收集"]', '2018-04-02');
  await worker.click('button:has-text("保存")');
  await shown(worker, 'li[data-testid="record"]:has-text("想要一副老花镜看报纸")');
  await worker.waitForFunction(
    () => [...document.querySelectorAll('li[data-testid="record"]')].every((r) => r.dataset.synced === 'true'),
    null,
    { timeout: 30_000 },
  );
  // Answered: the list no longer offers it, and the resident is told.
  await worker.reload();
  await shown(worker, 'li[data-testid="record"]:has-text("想要一副老花镜看报纸")');
  assert.equal(await worker.locator('[data-testid="submissions"]').count(), 0);
  await resident.goto(receipt);
  await shown(resident, '[data-testid="submission-receipt"]:has-text("村(社区)已采纳")');

  // A record at 收集 is not on the wall until the worker publishes it.
  await resident.goto(`${server.url}/wall/${TOWN}`);
  assert.doesNotMatch(await resident.locator('main').innerText(), /老花镜/);
});
