// A town supervisor's phone agrees with the server: 城关街道's supervisor syncs the town after its
// villages recorded, and the screen says 与服务器一致; a second sync pulls nothing and nothing
// from the start, because the phone counts the whole town as the server does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPhone, startServer, tempDir, login, fillCase } from './harness.mjs';

const TOWN = '610324001';
const dir = tempDir('shequ-supervisor-');
let server;
const contexts = [];

after(async () => {
  for (const c of contexts) await c.close();
  await server?.stop();
});

const phone = () => openPhone(server, contexts);

const statusIncludes = (page, text) => page.waitForFunction(
  (t) => document.querySelector('[data-testid="sync-status"]')?.textContent.includes(t),
  text,
  { timeout: 30_000 },
);

/** Records cases as a village worker on a shared village phone, and waits until they are synced. */
async function recordAs(page, username, topics) {
  await login(page, username);
  await page.waitForSelector('[data-testid="sync-bar"]');
  for (const topic of topics) {
    await page.click('a[data-form="deliberation_case"]');
    await fillCase(page, topic);
    await page.click('button:has-text("保存")');
    await page.waitForSelector(`li[data-testid="record"]:has-text("${topic}")`);
  }
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('li[data-testid="record"]')].filter((r) => r.dataset.synced === 'true').length === n,
    topics.length,
    { timeout: 30_000 },
  );
  await statusIncludes(page, '与服务器一致');
  await page.click('button:has-text("退出")');
  await page.waitForSelector('form[data-testid="login"]');
}

test('城关街道\'s supervisor syncs twice: 与服务器一致, and the second sync pulls nothing', async () => {
  server = await startServer({ db: path.join(dir, 'supervisor.db') });
  const cases = { 'village-610324001001': ['飞凤社区的议事一', '飞凤社区的议事二'], 'village-610324001004': ['另一村的议事'] };
  const village = await phone();
  for (const [username, topics] of Object.entries(cases)) await recordAs(village, username, topics);

  const page = await phone();
  const pulls = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/sync/pull')) pulls.push({ url: new URL(r.url()), body: r.json() });
  });
  await login(page, `town-${TOWN}`);
  await page.waitForSelector('h1:has-text("城关街道")');
  await statusIncludes(page, '全部已同步 · 与服务器一致');
  let firstPulled = 0;
  for (const p of pulls) firstPulled += (await p.body).changes.length;
  assert.equal(firstPulled, Object.values(cases).flat().length, 'the first sync brings the villages\' cases, once');

  // The second sync, on the 同步 button.
  pulls.length = 0;
  const checked = page.waitForResponse((r) => r.url().includes('/api/sync/checksum'));
  await page.click('button:has-text("同步")');
  await checked;
  await page.waitForSelector('[data-testid="sync-bar"] button:has-text("同步"):enabled');
  await statusIncludes(page, '全部已同步 · 与服务器一致');
  assert.ok(pulls.length > 0, 'the second sync pulled');
  for (const p of pulls) {
    assert.notEqual(p.url.searchParams.get('after'), '0', `the second sync does not pull the town from the start: ${p.url}`);
    assert.equal((await p.body).changes.length, 0, 'the second sync pulls nothing');
  }
});
