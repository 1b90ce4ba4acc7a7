// The national supervisor reads the whole country from the server: the nation's report, one
// column per province, and nothing of the country kept on the phone, online or offline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { launchBrowser, startServer, tempDir, login, apiToken, shown, root, PASSWORD, deliberationCase } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const VILLAGES = ['610324001001', '610324103001'];
const CASES = 3;
const dir = tempDir('shequ-nation-');
const db = path.join(dir, 'nation.db');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

/** Runs the server's command line on the test's database. */
function cli(args, env = {}) {
  const bin = process.env.SHEQU_SERVER_BIN || path.join(root, 'target/debug/shequ-server');
  return execFileSync(bin, ['--database', `sqlite://${db}`, ...args], {
    cwd: root,
    env: { ...process.env, SHEQU_LOG: 'warn', ...env },
    encoding: 'utf8',
  });
}

const deliberation = (unit, n) => deliberationCase(unit, `全国看到的议事${n}`, n, { device: 'nation-test', participants: 9 });

const casesRow = (page) => page.locator('table[data-testid="figures"] tr[data-indicator="deliberation_cases"] td');

test('the national supervisor reads the nation by province and keeps nothing of it but the figures', async () => {
  // The units above the county, then the national account, before the server first starts.
  const above = path.join(dir, 'above.csv');
  writeFileSync(above, 'code,name,level,parent_code\n61,陕西省,province,\n6103,宝鸡市,city,61\n610324,扶风县,county,6103\n');
  cli(['import-areas', above]);
  assert.match(cli(['user', 'add', 'nation', '--role', 'nation_supervisor', '--unit', '', '--name', '全国督导'], { SHEQU_NEW_PASSWORD: PASSWORD }), /added nation/);

  server = await startServer({ db });
  for (let n = 0; n < CASES; n++) {
    const unit = VILLAGES[n % VILLAGES.length];
    const token = await apiToken(server.url, `village-${unit}`);
    const r = await fetch(`${server.url}/api/sync/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'nation-test', changes: [deliberation(unit, n)] }),
    });
    assert.equal(r.status, 200);
  }

  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, 'nation');
  await page.click('a.tile:has-text("全国看板")');
  await shown(page, 'table[data-testid="figures"]');
  assert.equal((await page.locator('[data-testid="report-title"]').textContent()).trim(), '全国 · 工作进度');
  // One column per province: the nation's total, its target, then Shaanxi's.
  const headers = await page.locator('table[data-testid="figures"] thead th').allTextContents();
  assert.deepEqual(headers.slice(3), ['陕西省']);
  const cells = await casesRow(page).allTextContents();
  assert.equal(cells[0].trim(), `${CASES}个`);
  assert.equal(cells[2].trim(), `${CASES}个`);
  // No list of the whole country's records, and nothing of it synced down.
  assert.equal(await page.locator('li[data-testid="listed-record"]').count(), 0);

  // Offline after a reload: the figures last read, with their date.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await server.stop();
  await context.setOffline(true);
  await page.reload();
  await shown(page, '[data-testid="kept-figures"]:has-text("离线")');
  assert.equal((await casesRow(page).first().textContent()).trim(), `${CASES}个`);
});
