// The public wish wall on a 360 × 740 phone: a stranger with no account opens the town's wall and
// reads the published wishes, with no script and no app downloaded, and a wish typed to attack
// the page is only text; a village worker's installed app opens the same page from its home,
// served by the server rather than the app's shell.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { newPhone, startServer, tempDir, login, pushAs, shown } from './harness.mjs';

const VILLAGE = '610324001001';
const TOWN = '610324001';
let server;
const contexts = [];

const HOSTILE = '<img src=x onerror="document.title=\'被攻击\'">求一台轮椅';

function wish(what, state, n) {
  const dates = { 收集: '2018-03-01', 发布: '2018-03-05', 认领: '2018-03-20', 完成: '2018-04-01' };
  const order = Object.keys(dates);
  return {
    record: randomUUID(),
    rev: randomUUID(),
    parent: null,
    device: 'wall-test',
    clock: (1 << 16) + n,
    form: 'micro_wish',
    unit: VILLAGE,
    deleted: false,
    content: {
      wish: what,
      category: '助老',
      resident: '不公开的心愿人',
      status: { state, dates: Object.fromEntries(order.slice(0, order.indexOf(state) + 1).map((s) => [s, dates[s]])) },
    },
  };
}

before(async () => {
  server = await startServer({ db: path.join(tempDir('shequ-wall-'), 'wall.db') });
  await pushAs(server.url, `village-${VILLAGE}`, [
    wish('一台电暖器', '发布', 1),
    wish('还在收集的心愿', '收集', 2),
    wish('孩子的新书包', '完成', 3),
    wish(HOSTILE, '发布', 4),
  ]);
});

after(async () => {
  for (const c of contexts) await c.close();
  await server?.stop();
});

const phone = () => newPhone(contexts);

test('a stranger reads the town\'s published wishes with no login and no script', async () => {
  const page = await phone();
  const asked = [];
  page.on('request', (r) => asked.push(new URL(r.url()).pathname));
  await page.goto(`${server.url}/wall/${TOWN}`);
  await shown(page, 'h1:has-text("城关街道心愿墙")');
  const items = await page.$$eval('li.item h2', (hs) => hs.map((h) => h.textContent));
  assert.deepEqual(items, [HOSTILE, '孩子的新书包', '一台电暖器']);
  assert.equal(await page.title(), '城关街道心愿墙', 'the hostile wish ran nothing');
  assert.equal(await page.locator('li.item img, script').count(), 0);
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /不公开的心愿人|还在收集的心愿/);
  assert.match(text, /2018-03-05发布/);
  assert.deepEqual([...new Set(asked)].sort(), [`/wall/${TOWN}`, '/wall.css'].sort(), 'only the page and its style');
  // Readable on the phone: nothing wider than the screen.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
});

test('a worker\'s installed app opens the wall from its home as the server\'s page', async () => {
  const page = await phone();
  await page.goto(server.url + '/');
  await login(page, `village-${VILLAGE}`);
  await shown(page, '[data-testid="wall-link"]');
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 15_000 });
  await page.click('[data-testid="wall-link"]');
  await shown(page, 'h1:has-text("城关街道心愿墙")');
  assert.equal(new URL(page.url()).pathname, `/wall/${TOWN}`);
  assert.equal(await page.locator('li.item').count(), 3);
});
