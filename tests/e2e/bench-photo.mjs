// Photos measured as a worker takes them: the real app in headless Chromium at 360 × 740 with the
// CPU slowed 4× (as Lighthouse's mobile profile does), on a link like a weak 3G signal. Each photo
// is a camera's 4000 × 3000 JPEG; the benchmark prints what a photo weighs before and after the
// phone shrinks it, how long the shrinking takes until the photo shows on the form, and how long
// a sync takes to send the photos. A benchmark, not a test.
//
//   cargo xtask bench-photo [photos=4]
//   (or SHEQU_SERVER_BIN=target/release/shequ-server node tests/e2e/bench-photo.mjs [photos=4])
import path from 'node:path';
import os from 'node:os';
import { launchBrowser, startServer, tempDir, login, apiToken } from './harness.mjs';

const [PHOTOS = 4] = process.argv.slice(2).map(Number);
const VILLAGE = '610324001001';
// About a weak 3G link: 400 kbit/s down, 200 kbit/s up, 300 ms each way.
const LINK = { offline: false, latency: 300, downloadThroughput: 400_000 / 8, uploadThroughput: 200_000 / 8 };

const server = await startServer({ db: path.join(tempDir('shequ-bench-photo-'), 'bench.db') });
const context = await launchBrowser();
const page = await context.newPage();
await page.setViewportSize({ width: 360, height: 740 });
await page.goto(server.url + '/');
await login(page, `village-${VILLAGE}`);
await page.waitForSelector('a[data-form="volunteer_activity"]');
await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 15_000 });

/** A camera-like photo: a 4000 × 3000 JPEG of noise and shapes (hard to compress), `n` making it differ. */
async function camera(n) {
  const b64 = await page.evaluate(async (n) => {
    const c = new OffscreenCanvas(4000, 3000);
    const g = c.getContext('2d');
    const img = g.createImageData(4000, 3000);
    let x = 12345 + n;
    for (let i = 0; i < img.data.length; i += 4) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const v = (i / 4000 / 4) % 255;
      img.data[i] = (v + (x & 63)) & 255;
      img.data[i + 1] = ((i / 4) % 4000 / 16 + (x >> 8 & 63)) & 255;
      img.data[i + 2] = ((x >> 16) & 127) + 64;
      img.data[i + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.92 })).arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, n);
  return Buffer.from(b64, 'base64');
}

const began = Date.now();
const step = (what) => console.error(`[${((Date.now() - began) / 1000).toFixed(1)} s] ${what}`);
const sources = [];
for (let i = 0; i < PHOTOS; i++) sources.push(await camera(i));
step('photos made');

const cdp = await context.newCDPSession(page);
await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
await page.click('a[data-form="volunteer_activity"]');
await page.locator('[name="field-title"]').click();
await page.keyboard.type('照片基准');
await page.locator('[name="field-date"]').fill('2018-10-17');
await page.check('.field[data-field="service"] label:has-text("助老") input');
const shrink = [];
for (let i = 0; i < PHOTOS; i++) {
  const t0 = Date.now();
  await page.locator('.field[data-field="photos"] input[type="file"]')
    .setInputFiles({ name: `IMG_${i}.jpg`, mimeType: 'image/jpeg', buffer: sources[i] });
  await page.waitForFunction((n) => document.querySelectorAll('.field[data-field="photos"] img[data-testid="photo"]').length === n, i + 1, { timeout: 60_000 });
  shrink.push(Date.now() - t0);
}
step('photos shrunk');
await page.click('button:has-text("保存")');
await page.waitForSelector('[data-testid="photos-waiting"]');
step('saved');
await cdp.send('Network.enable');
await cdp.send('Network.emulateNetworkConditions', LINK);
const t0 = Date.now();
await page.click('button:has-text("同步")');
await page.waitForFunction(() => document.querySelector('[data-testid="photos-waiting"]') == null, null, { timeout: 600_000 });
const sync = Date.now() - t0;
step('synced');

const token = await apiToken(server.url, 'county');
const listed = await (await fetch(`${server.url}/api/records?unit=${VILLAGE}&form=volunteer_activity`, { headers: { authorization: `Bearer ${token}` } })).json();
const record = listed.records.find((r) => r.title === '照片基准');
const history = await (await fetch(`${server.url}/api/records/${record.record}/history`, { headers: { authorization: `Bearer ${token}` } })).json();
const ids = history.current.content.photos;
const kept = [];
for (const id of ids) {
  kept.push((await (await fetch(`${server.url}/api/photos/${id}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer()).byteLength);
}
await context.close();
await server.stop();

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const sorted = (a) => [...a].sort((x, y) => x - y);
const mid = (a) => sorted(a)[Math.floor(a.length / 2)];
console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores; Chromium CPU slowed 4×`);
console.log(`photos: ${PHOTOS} of 4000 × 3000; camera file p50 ${kb(mid(sources.map((b) => b.length)))}, kept p50 ${kb(mid(kept))} (largest ${kb(Math.max(...kept))})`);
console.log(`shrinking on the phone, from choosing to showing: p50 ${mid(shrink)} ms, slowest ${Math.max(...shrink)} ms`);
console.log(`sync sending them on ${LINK.uploadThroughput * 8 / 1000} kbit/s up, ${LINK.latency} ms: ${(sync / 1000).toFixed(1)} s (${(sync / PHOTOS / 1000).toFixed(1)} s a photo)`);
