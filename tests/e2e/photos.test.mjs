// Photo evidence on a 360 × 740 phone with no network. The worker records a volunteer activity
// and takes its photo from a file input: a camera's 4000 × 3000 JPEG that carries its location.
// The phone shrinks it, keeps it beside the record, and shows it after a reload, offline; a
// 50 MB file, a file that is not an image and an image bomb are refused with their reasons.
// Online, the record syncs and the photo follows it; the server holds a shrunk JPEG with no
// location, and the county's supervisor sees it beside the record and in the county's list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, startServer, tempDir, login, apiToken, apiGet, shown } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const VILLAGE = '610324001001';
const TOWN = '610324001';
let server;
let context;
let page;
const others = [];

before(async () => {
  server = await startServer({ db: path.join(tempDir('shequ-photos-'), 'photos.db') });
  context = await launchBrowser();
  page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, `village-${VILLAGE}`);
  await shown(page, 'a[data-form="volunteer_activity"]');
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 15_000 });
});

after(async () => {
  for (const c of others) await c.close();
  await context?.close();
  await server?.stop();
});

/** A camera's photo: a 4000 × 3000 JPEG drawn in the browser, with an Exif segment that holds a
 * GPS position put in after its start. */
async function cameraPhoto() {
  const b64 = await page.evaluate(async () => {
    const c = new OffscreenCanvas(4000, 3000);
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 4000, 3000);
    grad.addColorStop(0, '#c33');
    grad.addColorStop(1, '#36c');
    g.fillStyle = grad;
    g.fillRect(0, 0, 4000, 3000);
    for (let i = 0; i < 400; i++) {
      g.fillStyle = `hsl(${i * 37 % 360} 70% 50%)`;
      g.fillRect((i * 997) % 4000, (i * 613) % 3000, 120, 80);
    }
    const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  });
  const jpeg = Buffer.from(b64, 'base64');
  const exif = Buffer.concat([Buffer.from('Exif\0\0MM\0*'), Buffer.from('GPSLatitude 34.3621N GPSLongitude 107.8930E')]);
  const segment = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.from([(exif.length + 2) >> 8, (exif.length + 2) & 0xff]), exif]);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** A JPEG header that declares `w` × `h` pixels in a few bytes. */
function declared(w, h) {
  const frame = Buffer.from([0xff, 0xc0, 0, 11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0]);
  const scan = Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0x34, 0xff, 0xd9]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), frame, scan]);
}

/** The width and height in a JPEG's frame header, and whether it holds an Exif segment. */
function jpegInfo(buf) {
  let at = 2;
  let exif = false;
  while (at < buf.length) {
    const marker = buf[at + 1];
    const len = buf.readUInt16BE(at + 2);
    if (marker === 0xe1) exif = true;
    if (marker >= 0xc0 && marker <= 0xc2) return { height: buf.readUInt16BE(at + 5), width: buf.readUInt16BE(at + 7), exif };
    at += 2 + len;
  }
  return null;
}

const input = (field) => page.locator(`[name="field-${field}"]`);
const photoInput = () => page.locator('.field[data-field="photos"] input[type="file"]');
const photosIn = (scope) => page.locator(`${scope} img[data-testid="photo"]`);

test('a photo taken offline is shrunk, kept with its record, and refused files say why', async () => {
  const camera = await cameraPhoto();
  assert.ok(jpegInfo(camera).exif && camera.length > 200_000, 'a camera-sized photo with its location');
  await context.setOffline(true);
  await page.click('a[data-form="volunteer_activity"]');
  await input('title').click();
  await page.keyboard.type('重阳节敬老志愿服务');
  await input('date').fill('2018-10-17');
  await page.check('.field[data-field="service"] label:has-text("助老") input');

  await photoInput().setInputFiles({ name: 'IMG_2018.jpg', mimeType: 'image/jpeg', buffer: camera });
  await page.waitForFunction(() => document.querySelectorAll('.field[data-field="photos"] img[data-testid="photo"]').length === 1, null, { timeout: 20_000 });
  const shownSize = await page.$eval('.field[data-field="photos"] img', (img) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
  assert.deepEqual(shownSize, [1280, 960], 'shrunk on the phone to 1280 on its long side');

  // Too large to hand over as a buffer: a file, as the gallery gives it.
  const big = path.join(tempDir('shequ-photos-big-'), '视频.jpg');
  fs.writeFileSync(big, Buffer.alloc(50 * 1024 * 1024, 0xff));
  const refusals = [
    [big, /视频\.jpg.*文件太大\(50\.0 MB\)/],
    [{ name: '通知.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('这不是照片,是一段文字') }, /通知\.jpg.*不是照片/],
    [{ name: '炸弹.jpg', mimeType: 'image/jpeg', buffer: declared(60000, 60000) }, /炸弹\.jpg.*图片尺寸过大\(60000×60000\)/],
  ];
  for (const [file, says] of refusals) {
    await photoInput().setInputFiles(file);
    const problem = await shown(page, '[data-testid="photo-problem"]');
    assert.match(await problem.textContent(), says);
    assert.equal(await photosIn('.field[data-field="photos"]').count(), 1, 'nothing added');
  }

  await page.click('button:has-text("保存")');
  await shown(page, 'li[data-testid="record"]:has-text("重阳节敬老志愿服务")');
  await shown(page, '[data-testid="photos-waiting"]:has-text("1 张照片待上传")');

  // A reload with no network: the record and its photo are on the phone.
  await page.reload();
  await shown(page, 'li[data-testid="record"]:has-text("重阳节敬老志愿服务")');
  await shown(page, '[data-testid="photos-waiting"]:has-text("1 张照片待上传")');
  await page.click('li[data-testid="record"]:has-text("重阳节敬老志愿服务") a');
  await page.waitForFunction(() => document.querySelector('.field[data-field="photos"] img[data-testid="photo"]')?.naturalWidth === 1280, null, { timeout: 10_000 });
  await page.click('a.back');
  await shown(page, 'a[data-form="volunteer_activity"]');
});

test('online, the photo follows its record to the server, and the supervisors see it', async () => {
  await context.setOffline(false);
  await page.click('button:has-text("同步")').catch(() => {});
  await page.waitForFunction(
    () => document.querySelector('li[data-testid="record"]')?.dataset.synced === 'true'
      && document.querySelector('[data-testid="photos-waiting"]') == null,
    null,
    { timeout: 30_000 },
  );
  const token = await apiToken(server.url, `town-${TOWN}`);
  const listed = await apiGet(server.url, token, `/api/records?unit=${TOWN}&form=volunteer_activity`);
  const record = listed.records.find((r) => r.title === '重阳节敬老志愿服务');
  assert.ok(record?.photo, 'the town\'s list names its photo');
  const resp = await fetch(`${server.url}/api/photos/${record.photo}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(resp.status, 200);
  const held = Buffer.from(await resp.arrayBuffer());
  const info = jpegInfo(held);
  assert.deepEqual([info.width, info.height, info.exif], [1280, 960, false], 'shrunk, and no location');
  assert.ok(held.length <= 512 * 1024, `${held.length} bytes`);
  assert.doesNotMatch(held.toString('latin1'), /GPSLatitude/);

  // The county's supervisor, on a phone of their own, sees it as a thumbnail in the county's
  // list of records, and beside the record.
  const county = await launchBrowser();
  others.push(county);
  const cp = await county.newPage();
  await cp.setViewportSize(PHONE);
  await cp.goto(server.url + '/');
  await login(cp, 'county');
  const item = cp.locator('li[data-testid="listed-record"]:has-text("重阳节敬老志愿服务")');
  await item.waitFor({ timeout: 15_000 });
  await cp.waitForFunction(() => [...document.querySelectorAll('li[data-testid="listed-record"]')]
    .some((li) => li.textContent.includes('重阳节敬老志愿服务') && li.querySelector('.thumb img')?.naturalWidth === 1280), null, { timeout: 15_000 });
  await item.locator('a').click();
  await cp.waitForSelector('[data-testid="record-view"]:has-text("重阳节敬老志愿服务")');
  await cp.waitForFunction(() => document.querySelector('[data-testid="record-photos"] img')?.naturalWidth === 1280, null, { timeout: 15_000 });
  // Another village's worker cannot read it.
  const other = await apiToken(server.url, 'village-610324001201');
  const refused = await fetch(`${server.url}/api/photos/${record.photo}`, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(refused.status, 404);
});
