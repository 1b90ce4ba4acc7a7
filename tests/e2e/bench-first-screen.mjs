// How long a fresh phone on a slow link waits for the login form it can type into, and for the
// app itself, in Chromium with the DevTools protocol's network emulation.
// Usage: SHEQU_SERVER_BIN=target/release/shequ-server node tests/e2e/bench-first-screen.mjs \
//   [kbit/s=1600] [round trip ms=150] [runs=3] [dist folder=dist]
import path from 'node:path';
import { launchBrowser, startServer, tempDir } from './harness.mjs';

const kbps = Number(process.argv[2] ?? 1600);
const rtt = Number(process.argv[3] ?? 150);
const runs = Number(process.argv[4] ?? 3);
const distDir = process.argv[5] ?? 'dist';
const server = await startServer({
  db: path.join(tempDir('shequ-first-screen-'), 'bench.db'),
  env: { SHEQU_DIST: distDir },
});
const seen = [];
try {
  for (let i = 0; i < runs; i++) {
    const context = await launchBrowser();
    try {
      const page = await context.newPage();
      await page.setViewportSize({ width: 360, height: 740 });
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      const bytes = (kbps * 1000) / 8;
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: rtt, downloadThroughput: bytes, uploadThroughput: bytes,
      });
      const start = Date.now();
      await page.goto(server.url + '/', { waitUntil: 'commit' });
      await page.waitForSelector('#boot-login', { state: 'visible', timeout: 120_000 });
      const form = Date.now() - start;
      await page.waitForSelector('form[data-testid="login"]', { timeout: 300_000 });
      seen.push({ form, app: Date.now() - start });
    } finally {
      await context.close();
    }
  }
} finally {
  await server.stop();
}
console.log(`${distDir}, ${kbps} kbit/s, ${rtt} ms a round trip, fresh phone, ${runs} runs:`);
for (const s of seen) console.log(`  login form to type into ${s.form} ms; the app's own login form ${s.app} ms`);
