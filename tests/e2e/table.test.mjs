// The decomposition table (目标任务分解表) leaves the report page as the .xlsx a county office
// prints: the county administrator taps the button on a phone, the browser saves the file, and
// LibreOffice reads in it the figures the page shows.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { launchBrowser, startServer, tempDir, login, apiToken } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const VILLAGES = ['610324001001', '610324001201', '610324103001'];
const dir = tempDir('shequ-table-');
let server;
let context;

after(async () => {
  await context?.close();
  await server?.stop();
});

async function pushCase(unit, n) {
  const token = await apiToken(server.url, `village-${unit}`);
  const r = await fetch(`${server.url}/api/sync/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      device: 'table-test',
      changes: [{
        record: randomUUID(), rev: randomUUID(), parent: null, device: 'table-test',
        clock: (1 << 16) + n, form: 'deliberation_case', unit, deleted: false,
        content: {
          forum: '村(居)民议事会', topic: `分解表议事${n}`, feedback: false, participants: 9,
          steps: { state: '民事民提', dates: { 民事民提: '2018-03-01' } },
        },
      }],
    }),
  });
  assert.equal(r.status, 200);
}

/** The sheet's rows as LibreOffice reads them (cells as shown). */
function rowsOf(xlsx) {
  const out = tempDir('shequ-table-csv-');
  execFileSync('soffice', [`-env:UserInstallation=file://${out}/profile`, '--headless', '--convert-to',
    'csv:Text - txt - csv (StarCalc):44,34,76,1', '--outdir', out, xlsx], { stdio: 'pipe' });
  const text = fs.readFileSync(path.join(out, path.basename(xlsx).replace(/\.xlsx$/, '.csv')), 'utf8');
  // The cells hold no commas, quotes or line breaks of their own here.
  return text.trim().split('\n').map((line) => line.split(',').map((c) => c.replace(/^"|"$/g, '')));
}

test('the county exports the decomposition table from the report page and it holds the figures shown', async () => {
  server = await startServer({ db: path.join(dir, 'table.db') });
  for (let n = 0; n < 5; n++) await pushCase(VILLAGES[n % VILLAGES.length], n);

  context = await launchBrowser();
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  await page.goto(server.url + '/');
  await login(page, 'county');
  await page.click('a.tile:has-text("县级看板")');
  await page.waitForSelector('table[data-testid="figures"]');
  const shown = (await page.locator('table[data-testid="figures"] tr[data-indicator="deliberation_cases"] td').first().textContent()).trim();
  assert.equal(shown, '5个');
  // Each town's figure as the page shows it, by the column's heading.
  const heads = await page.locator('table[data-testid="figures"] thead th').allTextContents();
  const cells = await page.locator('table[data-testid="figures"] tr[data-indicator="deliberation_cases"] td').allTextContents();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('[data-testid="export-table"]'),
  ]);
  assert.match(download.suggestedFilename(), /^扶风县-目标任务分解表-\d{4}\.xlsx$/);
  await page.waitForSelector('[data-testid="export-note"]:has-text("已导出")');
  const file = path.join(dir, download.suggestedFilename());
  await download.saveAs(file);

  // Offline, the button says the file could not be fetched instead of saving anything.
  await context.setOffline(true);
  let saved = false;
  page.once('download', () => { saved = true; });
  await page.click('[data-testid="export-table"]');
  await page.waitForSelector('[data-testid="export-note"]:has-text("未能导出")');
  assert.equal(saved, false);
  await context.setOffline(false);

  const rows = rowsOf(file);
  assert.match(rows[0][0], /目标任务分解表$/);
  const col = rows[2].findIndex((h) => h.startsWith('议事案例'));
  assert.ok(col > 1, rows[2].join('|'));
  assert.deepEqual(rows[3].slice(col, col + 3), ['目标', '完成', '进度']);
  const total = rows.find((r) => r[0] === '610324');
  assert.equal(total[col + 1], shown.replace('个', ''));
  // Every town's figure on the page is the one in its row.
  let towns = 0;
  for (const row of rows.slice(4)) {
    if (row[0] === '610324') continue;
    const i = heads.indexOf(row[1]);
    assert.ok(i >= 3, `${row[1]} is a column of the page: ${heads.join('|')}`);
    // The page's cells: 合计, 目标, then one per town, after the indicator's name.
    assert.equal(cells[i - 1].trim(), `${row[col + 1]}个`, row[1]);
    towns++;
  }
  assert.equal(towns, heads.length - 3);
});
