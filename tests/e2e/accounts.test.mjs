// The county administrator manages accounts on the /admin page of a phone: disables a worker
// (who can no longer log in) and enables them again, gives them a one-time password (shown once,
// to be changed at the next login), and moves them to another village.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, apiToken, apiGet } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const WORKER = 'village-610324001201';
const dir = tempDir('shequ-accounts-');
let server;
let admin;
let worker;

after(async () => {
  await admin?.close();
  await worker?.close();
  await server?.stop();
});

const row = (page) => page.locator(`tr[data-account="${WORKER}"]`);

async function tryLogin(password) {
  const page = await worker.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, WORKER, password);
  return page;
}

test('the county administrator disables, enables, resets and moves an account on the admin page', async () => {
  server = await startServer({ db: path.join(dir, 'accounts.db') });
  admin = await launchBrowser();
  const page = await admin.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, 'county');
  await page.waitForSelector('a.tile:has-text("县级看板")');
  await page.goto(server.url + '/admin');
  await page.waitForSelector(`tr[data-account="${WORKER}"]`);
  assert.equal((await row(page).locator('[data-testid="account-state"]').textContent()).trim(), '可登录');
  assert.equal(await page.locator('tr[data-account="county"] [data-testid="toggle-account"]').count(), 0, 'not one\'s own');

  // Disabled: the worker's password no longer opens the app.
  await row(page).locator('[data-testid="toggle-account"]').click();
  await page.waitForSelector(`tr[data-account="${WORKER}"] [data-testid="account-state"]:has-text("已停用")`);
  worker = await launchBrowser();
  let phone = await tryLogin('shequ2018');
  await phone.waitForSelector('form[data-testid="login"] [role="alert"]');
  await phone.close();
  // Enabled again.
  await row(page).locator('[data-testid="toggle-account"]').click();
  await page.waitForSelector(`tr[data-account="${WORKER}"] [data-testid="account-state"]:has-text("可登录")`);

  // A one-time password, shown once; the worker must change it first.
  await row(page).locator('[data-testid="reset-password"]').click();
  const said = await page.locator('[data-testid="account-changed"]:has-text("新一次性密码")').textContent();
  const password = said.match(/新一次性密码:([A-Za-z0-9-]+)/)[1];
  assert.ok(password.length >= 12, said);
  phone = await tryLogin(password);
  await phone.waitForSelector('input[name="new"]');
  await phone.close();

  // Moved to 飞凤, under another name: the list says so, and so does the account itself.
  await row(page).locator('[data-testid="edit-account"]').click();
  const form = page.locator('[data-testid="edit-account-form"]');
  await form.locator('input[name="edit-name"]').fill('');
  await form.locator('input[name="edit-name"]').click();
  await page.keyboard.type('李四');
  await form.locator('select[name="edit-unit"]').selectOption('610324001001');
  await form.locator('button[type="submit"]').click();
  await page.waitForSelector('[data-testid="account-changed"]:has-text("李四")');
  // The list is read again after the answer, so its row follows the note.
  await row(page).filter({ hasText: '李四' }).waitFor();
  assert.match(await row(page).textContent(), /李四.*飞凤社区居委会/);
  const accounts = await apiGet(server.url, await apiToken(server.url, 'county'), '/api/admin/accounts');
  const moved = accounts.find((a) => a.username === WORKER);
  assert.equal(moved.unit, '610324001001');
  assert.equal(moved.name, '李四');

  // A unit left unchosen is refused in Chinese, and nothing changes.
  await row(page).locator('[data-testid="edit-account"]').click();
  await form.locator('select[name="edit-role"]').selectOption('town_supervisor');
  await form.locator('button[type="submit"]').click();
  await page.waitForSelector('[data-testid="account-refused"]:has-text("未知的单位代码")');
  const after = await apiGet(server.url, await apiToken(server.url, 'county'), '/api/admin/accounts');
  assert.equal(after.find((a) => a.username === WORKER).role, 'village_worker');
});
