// The app opens whatever the network does. On a link that connects but never answers (lie-fi: a
// weak signal, a captive portal), the shell comes from the service worker's cache at once, the
// app says 离线, lists what the phone stores and saves new records; before the wasm arrives,
// index.html already says in Chinese that the app is opening.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, fillCase } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const dir = tempDir('shequ-network-');
let server;
let relay;
const contexts = [];

after(async () => {
  for (const c of contexts) await c.close();
  await relay?.close();
  await server?.stop();
});

/**
 * A TCP relay in front of the server that can go silent: it keeps accepting connections, so the
 * phone believes it has a network, but nothing reaches the server and nothing comes back.
 */
function silentRelay(target) {
  const sockets = new Set();
  let silent = false;
  const track = (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const listener = net.createServer((phone) => {
    track(phone);
    if (silent) {
      phone.resume(); // read and drop every byte; answer nothing
      return;
    }
    const upstream = net.connect(target, '127.0.0.1');
    track(upstream);
    phone.on('close', () => upstream.destroy());
    upstream.on('close', () => phone.destroy());
    phone.pipe(upstream);
    upstream.pipe(phone);
  });
  const drop = () => { for (const s of sockets) s.destroy(); };
  return new Promise((resolve) => listener.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${listener.address().port}`,
    // Open connections are cut so that every later request meets the silence.
    silence() { silent = true; drop(); },
    speak() { silent = false; drop(); },
    close() { drop(); return new Promise((done) => listener.close(done)); },
  })));
}

async function phone() {
  const context = await launchBrowser();
  contexts.push(context);
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  return { context, page };
}

const status = (page) => page.locator('[data-testid="sync-status"]').textContent();

test('index.html says the app is opening before the wasm runs, within the CSP', async () => {
  server ??= await startServer({ db: path.join(dir, 'network.db') });
  const html = await (await fetch(server.url + '/')).text();
  assert.match(html, /正在打开社区建设工作台/, 'the message is in the page itself');

  const { page } = await phone();
  const refused = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) refused.push(m.text()); });
  // The wasm never arrives, as on a slow link: the message is what the worker sees.
  await page.route(/\.wasm$/, (route) => route.abort());
  await page.goto(server.url + '/');
  const boot = page.locator('[data-testid="boot"]');
  await boot.waitFor();
  assert.ok(await boot.isVisible());
  assert.match(await boot.textContent(), /正在打开社区建设工作台…/);
  assert.deepEqual(refused, [], 'nothing of the page is refused by the CSP');
});

test('on a link that never answers the app opens from the phone, says 离线 and saves', async () => {
  server ??= await startServer({ db: path.join(dir, 'network.db') });
  relay = await silentRelay(server.port);
  const { page } = await phone();

  // First visit online: log in, record a case, let it sync; the service worker keeps the shell.
  await page.goto(relay.url + '/');
  await login(page, 'village-610324001001');
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');
  assert.equal(await page.locator('[data-testid="boot"]').count(), 0, 'the loading message gives way to the app');
  await page.click('a[data-form="deliberation_case"]');
  await fillCase(page, '联网时记下的议事');
  await page.click('button:has-text("保存")');
  await page.waitForSelector('li[data-testid="record"][data-synced="true"]:has-text("联网时记下的议事")', { timeout: 30_000 });
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(async () => {
    if (!navigator.serviceWorker.controller) return false;
    for (const key of await caches.keys()) {
      const cache = await caches.open(key);
      if ((await cache.keys()).some((r) => r.url.endsWith('.wasm'))) return true;
    }
    return false;
  });

  // Lie-fi: connections are accepted and never answered.
  relay.silence();
  await page.reload({ waitUntil: 'domcontentloaded', timeout: 15_000 });
  await page.waitForSelector('h1:has-text("飞凤社区居委会")', { timeout: 15_000 });
  await page.waitForSelector('li[data-testid="record"]:has-text("联网时记下的议事")');
  await page.waitForSelector('[data-testid="sync-bar"][data-offline="true"]', { timeout: 30_000 });
  assert.match(await status(page), /离线/);

  // A new case saves on the phone while the server stays silent.
  await page.click('a[data-form="deliberation_case"]');
  await fillCase(page, '离线时记下的议事');
  await page.click('button:has-text("保存")');
  const offline = page.locator('li[data-testid="record"]:has-text("离线时记下的议事")');
  await offline.waitFor();
  assert.equal(await offline.getAttribute('data-synced'), 'false');
  await page.waitForFunction(() => /离线/.test(document.querySelector('[data-testid="sync-status"]')?.textContent), null, { timeout: 30_000 });

  // The server answers again: the case goes up and 离线 ends.
  relay.speak();
  await page.click('button:has-text("同步")');
  await page.waitForSelector('li[data-testid="record"][data-synced="true"]:has-text("离线时记下的议事")', { timeout: 30_000 });
  await page.waitForSelector('[data-testid="sync-bar"][data-offline="false"]');
  assert.doesNotMatch(await status(page), /离线/);
});

test('on a link that never answers, a page whose piece is not on the phone says so within its time limit', async () => {
  server ??= await startServer({ db: path.join(dir, 'network.db') });
  const quiet = await silentRelay(server.port);
  try {
    const { page } = await phone();
    await page.goto(quiet.url + '/');
    await login(page, 'county');
    await page.waitForSelector('a.tile:has-text("县级看板")');
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    // The administrator's piece is not precached: under lie-fi its fetch never gets an answer.
    quiet.silence();
    const asked = Date.now();
    await page.click('a.tile[href="/admin"]');
    await page.waitForSelector('[data-testid="page-not-loaded"]', { timeout: 45_000 });
    const waited = Date.now() - asked;
    assert.ok(waited >= 25_000 && waited < 45_000, `given up after the piece's time limit, not before: ${waited} ms`);
    // The link answers again: the retry brings the page.
    quiet.speak();
    await page.click('[data-testid="page-not-loaded"] button');
    await page.waitForSelector('tr[data-account="county"]', { timeout: 30_000 });
  } finally {
    await quiet.close();
  }
});
