// Shared pieces of Shequ's browser tests: a real shequ-server on a free port with a fresh SQLite
// file, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDir(prefix) {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/**
 * Starts the server; resolves with { url, port, stop } once it prints its address. `env` adds to
 * or overrides its settings (`SHEQU_PLANS` for a folder of plans, say).
 */
export function startServer({ db, listen = '127.0.0.1:0', env = {} }) {
  const bin = process.env.SHEQU_SERVER_BIN || path.join(root, 'target/debug/shequ-server');
  const child = spawn(bin, ['serve'], {
    cwd: root,
    env: {
      ...process.env,
      SHEQU_DATABASE_URL: `sqlite://${db}`,
      SHEQU_LISTEN: listen,
      SHEQU_PLAN: 'seeds/plan-2018.toml',
      SHEQU_DIST: 'dist',
      SHEQU_SEED_AREAS: 'seeds/fufeng-areas.csv',
      SHEQU_DEMO: '1',
      SHEQU_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`shequ-server exited with ${code}: ${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/running at (http:\/\/[^\s]+?)\/?\s/);
      if (m) {
        const url = m[1];
        resolve({
          url,
          port: Number(new URL(url).port),
          stop: () => new Promise((done) => {
            child.removeAllListeners('exit');
            if (child.exitCode !== null) return done();
            child.on('exit', () => done());
            child.kill('SIGKILL');
          }),
        });
      }
    });
  });
}

export async function launchBrowser() {
  const context = await chromium.launchPersistentContext(tempDir('shequ-chromium-'), {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 390, height: 844 },
    locale: 'zh-CN',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  // A failing test shows what the app itself complained of.
  const watch = (page) => {
    page.on('pageerror', (e) => console.error(`[page error] ${page.url()}: ${e.message}`));
    // A panic of the wasm is an `unreachable` above; what it said went to the console.
    page.on('console', (m) => {
      if (m.type() === 'error' && m.text().includes('panicked')) console.error(`[panic] ${page.url()}: ${m.text()}`);
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return context;
}

/** Waits for `selector`; when it does not come, the error says what the page showed instead. */
export async function shown(page, selector, options = {}) {
  try {
    return await page.waitForSelector(selector, options);
  } catch (e) {
    const seen = await page.evaluate(() => document.querySelector('main')?.innerText ?? '(no main)').catch((x) => `(unreadable: ${x.message})`);
    throw new Error(`${e.message}\n${page.url()} showed:\n${seen.slice(0, 2000)}`);
  }
}

/** A fresh browser at a phone's size (360 × 740) opened on the app; its context joins `contexts`,
 * which the test closes after. */
export async function openPhone(server, contexts) {
  const context = await launchBrowser();
  contexts.push(context);
  const page = await context.newPage();
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(server.url + '/');
  return page;
}

/** A fresh browser at a phone's size (360 × 740) on a blank page; its context joins `contexts`,
 * which the test closes after. */
export async function newPhone(contexts) {
  const context = await launchBrowser();
  contexts.push(context);
  const page = await context.newPage();
  await page.setViewportSize({ width: 360, height: 740 });
  return page;
}

/**
 * Starts Chromium as a process of our own on `userDataDir` and connects to it, so a test can kill
 * it with SIGKILL — as a phone kills a tab or the whole browser — and start it again on the same
 * profile. Resolves with { context, kill }.
 */
export async function launchKillable(userDataDir) {
  const { spawn: spawnProcess } = await import('node:child_process');
  const child = spawnProcess(process.env.CHROMIUM_BIN || '/usr/bin/chromium', [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
    '--window-size=390,844', '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ws = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`chromium exited with ${code}: ${err}`)));
  });
  const browser = await chromium.connectOverCDP(ws);
  const context = browser.contexts()[0];
  const kill = () => new Promise((done) => {
    child.removeAllListeners('exit');
    child.on('exit', () => done());
    child.kill('SIGKILL');
  });
  return { context, kill, browser };
}

/** The demo accounts' password (README). */
export const PASSWORD = 'shequ2018';

/** Logs in on the app's login form. */
export async function login(page, username, password = PASSWORD) {
  await page.waitForSelector('form[data-testid="login"]');
  await page.fill('form[data-testid="login"] input[name="username"]', username);
  await page.fill('form[data-testid="login"] input[name="password"]', password);
  await page.click('form[data-testid="login"] button[type="submit"]');
}

/** A session token for API calls made by the test itself. */
export async function apiToken(base, username, password = PASSWORD) {
  const r = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, device: `test-${username}` }),
  });
  return (await r.json()).token;
}

export async function apiGet(base, token, path) {
  return (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
}

/** Pushes `changes` as `username` through the sync API, and checks each was stored. */
export async function pushAs(base, username, changes, device = 'test') {
  const token = await apiToken(base, username);
  const r = await fetch(`${base}/api/sync/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ device, changes }),
  });
  if (r.status !== 200) throw new Error(`push as ${username}: ${r.status} ${await r.text()}`);
  for (const res of (await r.json()).results) {
    if (res.outcome !== 'stored') throw new Error(`push as ${username}: ${JSON.stringify(res)}`);
  }
}

/** The dates of a deliberation case that went through all five steps. */
const FIVE_STEPS = { 民事民提: '2018-03-01', 民事民议: '2018-03-05', 民事民决: '2018-03-09', 民事民办: '2018-04-01', 民事民评: '2018-05-01' };

/**
 * A new deliberation case of `unit`, as a village worker's phone pushes it: at its first step, or
 * through all five with feedback given when `success`; `n` orders the clocks of a test's cases.
 */
export function deliberationCase(unit, topic, n, { device = 'test', participants = 12, success = false } = {}) {
  return {
    record: randomUUID(),
    rev: randomUUID(),
    parent: null,
    device,
    clock: (1 << 16) + n,
    form: 'deliberation_case',
    unit,
    deleted: false,
    content: {
      forum: '村(居)民议事会',
      topic,
      steps: success ? { state: '民事民评', dates: FIVE_STEPS } : { state: '民事民提', dates: { 民事民提: '2018-03-01' } },
      feedback: success,
      participants,
    },
  };
}

/** Fills a deliberation case on the form page (without saving). */
export async function fillCase(page, topic) {
  await page.selectOption('select[name="field-forum"]', '邻里议事会');
  await page.fill('input[name="field-topic"]', topic);
  await page.selectOption('select[name="field-steps"]', '民事民提');
  await page.fill('input[name="field-steps-民事民提"]', '2018-04-02');
}

/**
 * The draft the phone keeps for a form (`draft:new:<form>` in IndexedDB's meta store) as the
 * worker typed it, or null when there is none.
 */
export async function draftOf(page, form) {
  return page.evaluate((key) => new Promise((resolve, reject) => {
    const open = indexedDB.open('shequ');
    // Never create the app's database here: that would leave it without its stores.
    open.onupgradeneeded = () => open.transaction.abort();
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('meta').objectStore('meta').get(key);
      get.onerror = () => reject(get.error);
      get.onsuccess = () => {
        open.result.close();
        resolve(get.result ? JSON.parse(get.result.value) : null);
      };
    };
  }), `draft:new:${form}`);
}

/** Waits until the phone's draft of `form` satisfies `ok` (the draft follows the worker's typing). */
export async function waitForDraft(page, form, ok) {
  let last;
  for (let tries = 0; tries < 200; tries++) {
    last = await draftOf(page, form);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the draft of ${form} never became as expected: ${JSON.stringify(last)}`);
}
