// Accounts on the phone: a wrong password is told in Chinese; after logging in the app works with
// no network; a lost phone revoked by the administrator stops syncing, is told so, and keeps its
// unsynced work, which can be exported to a file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { launchBrowser, startServer, tempDir, login, fillCase, apiToken, apiGet } from './harness.mjs';

const dir = tempDir('shequ-auth-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

test('log in, work offline, and a revoked phone keeps its work', async () => {
  server = await startServer({ db: path.join(dir, 'a.db') });
  context = await launchBrowser();
  const page = await context.newPage();
  await page.goto(server.url + '/');

  await login(page, 'village-610324001001', 'wrong-password-1');
  await page.waitForSelector('form[data-testid="login"] [role="alert"]:has-text("用户名或密码不对")');
  await login(page, 'village-610324001001');
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);

  // No network: the app still opens, still logged in, and takes a case.
  const port = server.port;
  await server.stop();
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');
  assert.equal(await page.locator('form[data-testid="login"]').count(), 0, 'still logged in offline');
  await page.click('a[data-form="deliberation_case"]');
  await fillCase(page, '丢失手机上的议事');
  await page.click('button:has-text("保存")');
  await page.waitForSelector('li[data-testid="record"][data-synced="false"]:has-text("丢失手机上的议事")');

  // The phone is lost: the administrator revokes it.
  server = await startServer({ db: path.join(dir, 'a.db'), listen: `127.0.0.1:${port}` });
  const admin = await apiToken(server.url, 'county');
  const sessions = await apiGet(server.url, admin, '/api/admin/sessions');
  const phone = sessions.filter((s) => s.username === 'village-610324001001' && !s.revoked_at);
  assert.equal(phone.length, 1);
  const r = await fetch(`${server.url}/api/admin/sessions/${phone[0].id}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
  assert.equal(r.status, 200);

  // The network returns: the phone is told, and its unsynced case is still there.
  await context.setOffline(false);
  await page.click('button:has-text("同步")');
  await page.waitForSelector('[data-testid="revoked"]');
  await page.waitForSelector('li[data-testid="record"][data-synced="false"]:has-text("丢失手机上的议事")');
  const pulled = await apiGet(server.url, admin, '/api/sync/pull?scope=610324001001&after=0');
  assert.equal(pulled.changes.length, 0, 'nothing from the revoked phone reached the server');

  // Its unsynced work goes to a file.
  const download = page.waitForEvent('download');
  await page.click('[data-testid="revoked"] button:has-text("导出未同步记录")');
  const file = await (await download).path();
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(exported.changes.length, 1);
  assert.equal(exported.changes[0].content.topic, '丢失手机上的议事');
});

test('the administrator creates an account on the web page; its one-time password is changed at first login', async () => {
  const admin = await launchBrowser();
  try {
    const page = await admin.newPage();
    await page.goto(server.url + '/');
    await login(page, 'county');
    await page.click('a:has-text("账号与设备")');
    await page.waitForSelector('form[data-testid="new-account"]');
    await page.fill('input[name="new-username"]', 'xiguan-li');
    await page.fill('input[name="new-name"]', '李四');
    await page.selectOption('select[name="new-role"]', 'village_worker');
    await page.selectOption('select[name="new-unit"]', '610324001201');
    await page.fill('input[name="new-password"]', 'once-2018');
    await page.click('form[data-testid="new-account"] button[type="submit"]');
    await page.waitForSelector('table[data-testid="accounts"] td:has-text("xiguan-li")');

    const phone = await launchBrowser();
    const p2 = await phone.newPage();
    await p2.goto(server.url + '/');
    await login(p2, 'xiguan-li', 'once-2018');
    await p2.waitForSelector('input[name="new"]');
    await p2.fill('input[name="old"]', 'once-2018');
    await p2.fill('input[name="new"]', 'short');
    await p2.click('button:has-text("保存新密码")');
    await p2.waitForSelector('[role="alert"]:has-text("密码至少8位")');
    await p2.fill('input[name="new"]', 'xiguan-2018!');
    await p2.click('button:has-text("保存新密码")');
    await p2.waitForSelector('h1:has-text("西官村委会")');
    await phone.close();
  } finally {
    await admin.close();
  }
});
