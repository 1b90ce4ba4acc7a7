// The administrator's pages are a piece of wasm of their own, fetched when first opened. A piece
// that cannot be fetched (the server gone before it was ever opened) must leave the app running
// with a clear message, not abort the wasm the phone's records live in; once fetched, the service
// worker keeps it and the page opens with no server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, shown } from './harness.mjs';

const dir = tempDir('shequ-pieces-');
const db = path.join(dir, 'pieces.db');
let server;
let browser;

after(async () => {
  await browser?.close();
  await server?.stop();
});

const adminPieceKept = (page) => page.evaluate(async () => {
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    if ((await cache.keys()).some((r) => r.url.includes('/split_admin'))) return true;
  }
  return false;
});

test('the admin page\'s piece: missing offline it says so and the app goes on; once fetched it opens with no server', async () => {
  server = await startServer({ db });
  browser = await launchBrowser();
  const page = await browser.newPage();
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(server.url + '/');
  await login(page, 'county');
  await shown(page, 'a.tile:has-text("县级看板")');
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  assert.equal(await adminPieceKept(page), false, 'the admin piece is not part of the shell');
  const fetched = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('split_')));
  assert.deepEqual(fetched, [], 'no page piece is fetched before a page needs it');

  const { port } = server;
  await server.stop();
  await page.click('a.tile[href="/admin"]');
  await shown(page, '[data-testid="page-not-loaded"]');
  assert.match(await page.locator('[data-testid="page-not-loaded"]').innerText(), /还没有下载到手机上/);
  // The wasm is still running: the router takes the worker back home.
  await page.goBack();
  await shown(page, 'a.tile:has-text("县级看板")');

  server = await startServer({ db, listen: `127.0.0.1:${port}` });
  await page.click('a.tile[href="/admin"]');
  await shown(page, 'tr[data-account="county"]');
  // The service worker keeps the piece as it passes.
  for (let i = 0; !(await adminPieceKept(page)); i++) {
    assert.ok(i < 50, 'the admin piece is kept within 5 s of its page opening');
    await page.waitForTimeout(100);
  }

  await server.stop();
  server = undefined;
  await page.goto(`http://127.0.0.1:${port}/`);
  await shown(page, 'a.tile:has-text("县级看板")');
  await page.click('a.tile[href="/admin"]');
  await shown(page, 'table[data-testid="accounts"]');
  assert.equal(await page.locator('[data-testid="page-not-loaded"]').count(), 0);
});
