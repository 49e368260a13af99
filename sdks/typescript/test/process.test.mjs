// Whole Node processes: uncaught errors and unhandled rejections are reported and the process then
// behaves as it would without the SDK; events left in the queue go out before a script ends;
// console and fetch leave breadcrumbs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SDK_DIR, startCaptureServer } from './helpers.mjs';

const server = await startCaptureServer((request) => (request.path.startsWith('/ping') ? { status: 204, body: '' } : { status: 202 }));
const dir = mkdtempSync(join(tmpdir(), 'pulsekit-process-'));
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
const ESM_ENTRY = pathToFileURL(join(SDK_DIR, 'dist', 'esm', 'node.js')).href;
const CJS_ENTRY = join(SDK_DIR, 'dist', 'cjs', 'node.js');

/** Runs `body` as a script after init; resolves {code, stdout, stderr, events} (events this script sent). */
function runScript(name, body, { cjs = false } = {}) {
  const init = `init({ endpoint: ${JSON.stringify(server.url)}, apiKey: 'pk_test', release: 'proc@1' });`;
  const source = cjs
    ? `const { init, captureException, captureMessage } = require(${JSON.stringify(CJS_ENTRY)});\n${init}\n${body}\n`
    : `import { init, captureException, captureMessage } from ${JSON.stringify(ESM_ENTRY)};\n${init}\n${body}\n`;
  const file = join(dir, `${name}.${cjs ? 'cjs' : 'mjs'}`);
  writeFileSync(file, source);
  const before = server.requests.length;
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { timeout: 30_000 }, (error, stdout, stderr) => {
      const events = server.requests.slice(before).flatMap((request) => request.body?.events ?? []);
      resolve({ code: error ? error.code : 0, stdout, stderr, events });
    });
  });
}

test('an uncaught exception is reported, then the process prints it and exits with code 1', async () => {
  const result = await runScript('uncaught', `setTimeout(function explode() { throw new RangeError('boom at top'); }, 10);`);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /RangeError: boom at top/);
  assert.equal(result.events.length, 1);
  const [event] = result.events;
  assert.deepEqual(event.exception, { type: 'RangeError', value: 'boom at top' });
  assert.equal(event.level, 'fatal');
  assert.deepEqual(event.tags, { mechanism: 'uncaughtException', handled: 'no' });
  assert.match(event.stacktrace.frames.at(-1).function, /explode$/); // V8 says Timeout.explode
  assert.equal(event.release, 'proc@1');
});

test('an unhandled rejection is reported, then Node fails the process as it would have (CommonJS build)', async () => {
  const result = await runScript('rejection', `Promise.reject(new TypeError('nobody caught me'));`, { cjs: true });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /TypeError: nobody caught me/);
  assert.deepEqual(result.events.map((event) => [event.exception.type, event.tags.mechanism]), [['TypeError', 'unhandledRejection']]);
});

test('with two clients, both report an uncaught exception and the process still ends with code 1', async () => {
  const result = await runScript(
    'two-clients',
    `const { PulseKit } = await import(${JSON.stringify(ESM_ENTRY)});
const audit = new PulseKit({ endpoint: ${JSON.stringify(server.url)}, apiKey: 'pk_audit', release: 'audit@1' });
setTimeout(() => { throw new Error('seen twice'); }, 10);`,
  );
  assert.equal(result.code, 1);
  assert.deepEqual(result.events.map((event) => event.release ?? 'none').sort(), ['audit@1', 'proc@1']);
});

test("with the app's own uncaughtException listener, the app decides: the process keeps running", async () => {
  const result = await runScript(
    'own-listener',
    `process.on('uncaughtException', (error) => console.log('app handled', error.message));
setTimeout(() => { throw new Error('handled elsewhere'); }, 10);
setTimeout(() => console.log('still alive'), 300);`,
  );
  assert.equal(result.code, 0);
  assert.match(result.stdout, /app handled handled elsewhere[\s\S]*still alive/);
  assert.deepEqual(result.events.map((event) => event.message), ['handled elsewhere']);
});

test('events still queued when a script ends are sent before it exits', async () => {
  const result = await runScript('no-flush', `captureMessage('last words');`);
  assert.equal(result.code, 0);
  assert.deepEqual(result.events.map((event) => event.message), ['last words']);
});

test('console calls and fetch requests before an error travel with it; the SDK itself leaves no crumb', async () => {
  const result = await runScript(
    'crumbs',
    `console.warn('cache miss for', { user: 7 });
await fetch(${JSON.stringify(server.url)} + '/ping?token=secret');
captureMessage('first, sent on its own');
await new Promise((resolve) => setTimeout(resolve, 1500));
captureException(new Error('after the crumbs'));`,
  );
  assert.equal(result.code, 0);
  const failure = result.events.find((event) => event.message === 'after the crumbs');
  const crumbs = failure.metadata.breadcrumbs.map(({ category, level, message, data }) => ({ category, level, message, data }));
  assert.deepEqual(crumbs, [
    { category: 'console', level: 'warning', message: 'cache miss for {"user":7}', data: undefined },
    { category: 'fetch', level: 'info', message: undefined, data: { method: 'GET', url: `${server.url}/ping`, status_code: 204 } },
  ]);
  assert.equal(result.events.find((event) => event.message === 'first, sent on its own').metadata, undefined, 'info events carry no crumbs');
});
