// In Debian's Chromium (Playwright, never a downloaded browser): a page served from another origin
// than the PulseKit server loads the SDK; its uncaught errors reach a live server and are read back,
// with their frames, through the read API.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright';
import { eventually, SDK_DIR, startPulsekit } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript' };
let pulse;
let site;
let browser;

/** A static server on its own port (another origin): the test page, and the SDK's ESM build under /sdk/. */
async function startSite() {
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    const root = path.startsWith('/sdk/') ? join(SDK_DIR, 'dist', 'esm') : join(SDK_DIR, 'test', 'browser-app');
    const file = normalize(join(root, path === '/' ? 'index.html' : path.replace(/^\/sdk\//, '/')));
    if (!file.startsWith(root) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is required at ${CHROMIUM} (apt-get install chromium)`);
  pulse = await startPulsekit();
  site = await startSite();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await site?.close();
    await pulse?.stop();
  }
});

async function openPage(dsn) {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !/renderCart|quantity out of range/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', () => undefined); // the uncaught errors are the point of the test
  await page.goto(`${site.url}/?dsn=${encodeURIComponent(dsn)}`);
  await page.waitForFunction(() => window.pulsekitReady === true);
  return { page, problems };
}

test('an uncaught error on a page of another origin is stored with its frames', async () => {
  const { key, project: created } = await pulse.newProject('browser uncaught', 'ingest');
  const reader = await readerFor(created.slug);
  const { page, problems } = await openPage(key.dsn);
  try {
    await page.evaluate(() => window.crash());
    await page.evaluate(() => window.rejectLater());
    const events = await eventually(async () => {
      const stored = await pulse.readEvents(reader);
      return stored.length >= 2 && stored;
    }, 'two events from the page', 20_000);
    const crash = events.find((event) => event.exception.type === 'TypeError');
    assert.deepEqual(crash.tags, { mechanism: 'onerror', handled: 'no' });
    assert.equal(crash.release, 'web@1.0.0');
    const failing = crash.stacktrace.frames.at(-1);
    assert.equal(failing.function, 'renderCart');
    assert.equal(failing.filename, `${site.url}/app.js`);
    assert.equal(failing.in_app, true);
    assert.ok(failing.lineno > 0 && failing.colno > 0);
    const rejection = events.find((event) => event.exception.type === 'RangeError');
    assert.equal(rejection.exception.value, 'quantity out of range');
    assert.equal(rejection.tags.mechanism, 'onunhandledrejection');
    assert.deepEqual(problems, [], 'no CORS or network errors in the page');
  } finally {
    await page.close();
  }
});

test('an event captured just before the page goes away is still delivered (keepalive)', async () => {
  const { key, project: created } = await pulse.newProject('browser leave', 'ingest');
  const reader = await readerFor(created.slug);
  const { page } = await openPage(key.dsn);
  try {
    await page.evaluate(() => window.captureThenLeave('left the checkout'));
    await page.waitForURL('about:blank');
    const [event] = await eventually(async () => {
      const stored = await pulse.readEvents(reader);
      return stored.length && stored;
    }, 'the event sent as the page left', 20_000);
    assert.deepEqual([event.message, event.level], ['left the checkout', 'warning']);
  } finally {
    await page.close();
  }
});

/** A key that can read the project the page sends to (the page's own key is ingest-only). */
async function readerFor(slug) {
  return (await pulse.createKey(slug, 'read')).key;
}
