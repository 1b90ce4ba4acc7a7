// Two phones of one village edit the same case while the server is down. Both versions are kept;
// both phones show the conflict; a worker sees the other version, chooses it, and the conflict
// closes on both phones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, fillCase, apiToken, apiGet } from './harness.mjs';

const dir = tempDir('shequ-conflict-');
let server;
const phones = [];

after(async () => {
  for (const p of phones) await p.close();
  await server?.stop();
});

async function phone() {
  const context = await launchBrowser();
  phones.push(context);
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await login(page, 'village-610324001001');
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');
  return page;
}

async function syncNow(page) {
  await page.click('button:has-text("同步")');
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-status"]')?.textContent.includes('全部已同步'));
}

async function editTopic(page, from, to) {
  await page.click(`li[data-testid="record"]:has-text("${from}") a`);
  await page.waitForSelector('input[name="field-topic"]');
  await page.fill('input[name="field-topic"]', to);
  await page.click('button:has-text("保存")');
  await page.waitForSelector(`li[data-testid="record"]:has-text("${to}")`);
}

test('a conflict keeps both versions and a worker settles it', async () => {
  server = await startServer({ db: path.join(dir, 'c.db') });
  const a = await phone();
  const b = await phone();
  await a.click('a[data-form="deliberation_case"]');
  await fillCase(a, '村口路灯议事');
  await a.click('button:has-text("保存")');
  await a.waitForSelector('li[data-testid="record"][data-synced="true"]:has-text("村口路灯议事")');
  await syncNow(b);
  await b.waitForSelector('li[data-testid="record"]:has-text("村口路灯议事")');

  // The server goes down; each phone edits the case its own way.
  const port = server.port;
  await server.stop();
  await editTopic(a, '村口路灯议事', '村口路灯议事(甲:加装两盏)');
  await editTopic(b, '村口路灯议事', '村口路灯议事(乙:改为太阳能)');

  server = await startServer({ db: path.join(dir, 'c.db'), listen: `127.0.0.1:${port}` });
  await syncNow(a);
  await syncNow(b);
  await syncNow(a);
  for (const p of [a, b]) {
    await p.waitForSelector('li[data-testid="record"] [data-testid="sync-mark"]:has-text("有冲突")');
    assert.equal(await p.locator('li[data-testid="record"]').count(), 1, 'one record, not two');
  }
  const pulled = await apiGet(server.url, await apiToken(server.url, 'county'), '/api/sync/pull?scope=610324001001&after=0');
  assert.equal(pulled.changes.length, 3, 'the original and both edits are kept');

  // On phone A, the worker sees the other version and chooses it.
  await a.click('li[data-testid="record"] a');
  await a.waitForSelector('[data-testid="conflict"]');
  const shown = await a.inputValue('input[name="field-topic"]');
  const other = shown.includes('甲') ? '乙:改为太阳能' : '甲:加装两盏';
  assert.ok((await a.locator('[data-testid="conflict"]').textContent()).includes(other));
  await a.click('[data-testid="conflict"] button:has-text("采用这个版本")');
  assert.ok((await a.inputValue('input[name="field-topic"]')).includes(other));
  await a.click('button:has-text("保存")');
  await a.waitForSelector(`li[data-testid="record"]:has-text("${other}")`);
  await syncNow(a);
  await syncNow(b);
  for (const p of [a, b]) {
    await p.waitForFunction((want) => {
      const li = document.querySelector('li[data-testid="record"]');
      return li && li.textContent.includes(want) && !li.textContent.includes('有冲突');
    }, other);
  }
});
