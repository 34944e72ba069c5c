// firstcard: one navigation per run to the catalog page in a fresh browser context (no cache),
// timing, from navigation start, the first byte of the document and the first product card
// visible on screen. Printed as JSON: [{"ttfbMs": ..., "firstCardMs": ...}, ...].
// $FIRSTCARD_URL is the page, $FIRSTCARD_RUNS the navigations, $PLAYWRIGHT_CORE
// playwright-core's folder, $CHROME_PATH the browser, $CHROME_FLAGS its flags.
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const os = require('os');
const fs = require('fs');
const path = require('path');

const CARD = '[aria-label="Products"] a[href^="/p/"]';

// Runs in the page before its scripts: notes the time the first card has a box on screen.
function watchFirstCard(selector) {
  const seen = () => {
    const el = document.querySelector(selector);
    if (!el) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.top < window.innerHeight;
  };
  const check = () => {
    if (window.__firstCardMs === undefined && seen()) window.__firstCardMs = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
  const frame = () => {
    check();
    if (window.__firstCardMs === undefined) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

async function main() {
  const url = process.env.FIRSTCARD_URL;
  const runs = Number(process.env.FIRSTCARD_RUNS);
  if (!url || !(runs > 0)) throw new Error('FIRSTCARD_URL and FIRSTCARD_RUNS are required');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'firstcard-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROME_PATH,
    headless: true,
    args: process.env.CHROME_FLAGS.split(' '),
  });
  const out = [];
  try {
    for (let i = 0; i < runs; i++) {
      const page = await browser.newPage();
      // A fresh page with caching off: every run downloads the whole page, as a first visit does.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await page.addInitScript(watchFirstCard, CARD);
      await page.goto(url, { waitUntil: 'commit', timeout: 120000 });
      await page.waitForFunction(() => window.__firstCardMs !== undefined, null, { timeout: 120000 });
      out.push(await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        return { ttfbMs: nav.responseStart - nav.startTime, firstCardMs: window.__firstCardMs - nav.startTime };
      }));
      await page.close();
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
