// The app in English on a phone (360 × 740): the switch above every page turns every label of the
// home, a form, a report and the administrator's page into English, the choice stays after a
// reload, and switching back gives Chinese again. What stays Chinese is what the data says: the
// plan's own texts (forms, fields, indicators, choices, units), unit names and people's names.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPhone, startServer, tempDir, login, apiToken, apiGet, shown } from './harness.mjs';

const dir = tempDir('shequ-language-');
let server;
const contexts = [];

after(async () => {
  for (const c of contexts) await c.close();
  await server?.stop();
});

const HAN = /\p{Script=Han}/u;

/** Every string inside a JSON value. */
function strings(value, out = []) {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** The texts the data brings, which no switch translates: the plans', the areas', the accounts'. */
async function dataTexts() {
  const token = await apiToken(server.url, 'county');
  const plans = await apiGet(server.url, token, '/api/plans');
  const texts = strings(plans);
  for (const p of plans) texts.push(...strings(await apiGet(server.url, token, `/api/plans/${p.id}`)));
  texts.push(...(await apiGet(server.url, token, '/api/areas')).map((a) => a.name));
  texts.push(...strings(await apiGet(server.url, token, '/api/admin/accounts')).filter((s) => HAN.test(s)));
  // Longest first, so that a name is not left in pieces by a shorter one inside it.
  return [...new Set(texts.filter((s) => HAN.test(s)))].sort((a, b) => b.length - a.length);
}

/** What the page shows in Chinese once the data's own texts are taken out (the switch, which names
 * 中文 in Chinese, aside). */
async function chineseLeft(page, data) {
  let text = await page.evaluate(() => {
    const copy = document.body.cloneNode(true);
    copy.querySelector('[data-testid="language"]')?.remove();
    // Labels that are attributes count too: a placeholder, a tooltip, a chart's name.
    const attrs = [...copy.querySelectorAll('[placeholder],[title],[aria-label]')]
      .map((e) => [e.getAttribute('placeholder'), e.getAttribute('title'), e.getAttribute('aria-label')].join(' '));
    document.body.append(copy);
    copy.style.position = 'absolute';
    const seen = copy.innerText;
    copy.remove();
    return [seen, ...attrs].join('\n');
  });
  for (const t of data) text = text.split(t).join(' ');
  return text.split('\n').filter((line) => HAN.test(line));
}

async function assertEnglish(page, data, where) {
  // The page is drawn in English before it is read.
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  const left = await chineseLeft(page, data);
  assert.deepEqual(left, [], `${where}: labels left in Chinese`);
}

async function switchTo(page, label) {
  await page.click(`[data-testid="language"]:has-text("${label}")`);
}

test('a village worker switches to English: the home and a form speak it, after a reload too, and back', async () => {
  server = await startServer({ db: path.join(dir, 'language.db') });
  const data = await dataTexts();
  const page = await openPhone(server, contexts);
  // zh-CN first, whatever the browser says.
  await shown(page, 'form[data-testid="login"] h2:has-text("登录")');
  await login(page, 'village-610324001001');
  await shown(page, 'h2:has-text("填报")');
  await shown(page, '[data-testid="sync-status"]:has-text("全部已同步")');

  await switchTo(page, 'English');
  await shown(page, 'h2:has-text("Fill in")');
  await assertEnglish(page, data, 'home');

  await page.click('a[data-form="deliberation_case"]');
  await shown(page, 'form.record-form');
  await shown(page, 'h1:has-text("New:")');
  await assertEnglish(page, data, 'a form');

  await page.reload();
  await shown(page, 'form.record-form');
  await shown(page, '[data-testid="language"]:has-text("中文")');
  await assertEnglish(page, data, 'a form after a reload');

  await switchTo(page, '中文');
  await shown(page, 'h1:has-text("新建:")');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.click('a.back');
  await shown(page, 'h2:has-text("填报")');
  await shown(page, '[data-testid="language"]:has-text("English")');
});

test('the county administrator reads the report, the towns\' targets and the accounts in English', async () => {
  const data = await dataTexts();
  const page = await openPhone(server, contexts);
  await login(page, 'county');
  await shown(page, 'a.tile[href="/county"]');
  await switchTo(page, 'English');
  await shown(page, 'a.tile:has-text("County board")');
  await assertEnglish(page, data, 'the county home');

  await page.click('a.tile[href="/county"]');
  await shown(page, 'table[data-testid="figures"]');
  await shown(page, '[data-testid="assessment"]');
  await shown(page, '[data-testid="month-chart"], [data-testid="month-chart-error"]');
  await assertEnglish(page, data, 'the county report');

  await page.goto(server.url + '/targets');
  await shown(page, 'table[data-testid="town-targets"] tbody tr');
  await assertEnglish(page, data, 'the towns\' targets');

  await page.goto(server.url + '/admin');
  await shown(page, 'table[data-testid="accounts"] tbody tr');
  await shown(page, 'table[data-testid="sessions"] tbody tr');
  await assertEnglish(page, data, 'the administrator\'s page');
});
