// The app opens whatever the network does. On a link that connects but never answers (lie-fi: a
// weak signal, a captive portal), the shell comes from the service worker's cache at once, the
// app says 离线, lists what the phone stores and saves new records; before the wasm arrives,
// index.html already shows the login form (and the app takes over what was typed into it), or on a
// logged-in phone says in Chinese that the app is opening.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, fillCase, PASSWORD } from './harness.mjs';

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

/** Holds every request for the app's wasm until `release()`: a slow first download. */
async function holdWasm(page) {
  let release;
  const released = new Promise((r) => { release = r; });
  await page.route(/\.wasm$/, async (route) => { await released; await route.continue(); });
  return release;
}

/** Types, key by key, into index.html's login form: the name, Tab, then `password`. */
async function typeIntoFirstScreen(page, username, password) {
  await page.click('#boot-username');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
}

test('index.html shows the login form before the wasm runs, within the CSP', async () => {
  server ??= await startServer({ db: path.join(dir, 'network.db') });
  const html = await (await fetch(server.url + '/')).text();
  assert.match(html, /正在打开社区建设工作台/, 'the opening message is in the page itself');
  assert.match(html, /<h2>登录<\/h2>/, 'the login form is in the page itself, in the app\'s words');

  const { page } = await phone();
  const refused = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) refused.push(m.text()); });
  // The wasm never arrives, as on a slow link: the form is what the worker sees and types into.
  await page.route(/\.wasm$/, (route) => route.abort());
  await page.goto(server.url + '/');
  const form = page.locator('[data-testid="boot-login"]');
  await form.waitFor();
  assert.ok(await form.isVisible());
  assert.equal(await page.locator('#boot .boot').isVisible(), false, 'a phone never logged in is not told to wait');
  await typeIntoFirstScreen(page, 'village-610324001001', PASSWORD);
  await page.keyboard.press('Enter');
  const sent = form.locator('.boot-sent');
  await sent.waitFor();
  assert.match(await sent.textContent(), /打开后自动登录/);
  assert.equal(page.url(), server.url + '/', 'nothing is sent by the page itself, the password least of all');
  assert.deepEqual(refused, [], 'nothing of the page is refused by the CSP');
});

test('what a worker types before the app arrives is kept: the cursor and the keys go on into the app', async () => {
  server ??= await startServer({ db: path.join(dir, 'network.db') });
  const { page } = await phone();
  const release = await holdWasm(page);
  await page.goto(server.url + '/');
  await typeIntoFirstScreen(page, 'village-610324001001', PASSWORD.slice(0, 5));
  release();
  await page.waitForSelector('form[data-testid="login"]');
  assert.equal(await page.locator('[data-testid="boot"]').count(), 0, 'the first screen gives way to the app');
  assert.equal(await page.inputValue('form[data-testid="login"] input[name="username"]'), 'village-610324001001');
  // The rest of the password, typed into whichever field has the cursor now.
  await page.keyboard.type(PASSWORD.slice(5));
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1:has-text("飞凤社区居委会")');
});

test('a login sent before the app arrives is made when it does; a logged-in phone then opens on the message', async () => {
  server ??= await startServer({ db: path.join(dir, 'network.db') });
  const { page } = await phone();
  const release = await holdWasm(page);
  await page.goto(server.url + '/');
  await typeIntoFirstScreen(page, 'village-610324001004', PASSWORD);
  await page.keyboard.press('Enter');
  await page.locator('#boot-login .boot-sent').waitFor();
  release();
  await page.waitForSelector('[data-testid="record-forms"], a[data-form]');
  assert.equal(await page.locator('form[data-testid="login"]').count(), 0, 'logged in without a second press');

  await page.reload();
  assert.ok(await page.evaluate(() => document.documentElement.classList.contains('boot-wait')),
    'a logged-in phone\'s first screen is the opening message, not a login form');
  await page.waitForSelector('a[data-form]');
  await page.click('button:has-text("退出")');
  await page.waitForSelector('form[data-testid="login"]');
  await page.reload();
  await page.waitForSelector('form[data-testid="login"]');
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains('boot-wait')), false,
    'after logging out, the first screen is the login form again');
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
