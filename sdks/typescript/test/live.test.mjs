// Against a real `pulsekit serve`: the README quickstart as shipped, the example app, and the npm
// tarball's ESM and CommonJS entry points. Events are read back through GET /api/v1/events.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { eventually, SDK_DIR, startPulsekit } from './helpers.mjs';

const run = promisify(execFile);
let pulse;
before(async () => {
  pulse = await startPulsekit();
});
after(() => pulse?.stop());

test('the quickstart, with a real DSN in place of __DSN__, delivers its three events', async () => {
  const { key } = await pulse.newProject('quickstart');
  const source = readFileSync(join(SDK_DIR, 'quickstart', 'index.mjs'), 'utf8');
  assert.ok(source.includes("'__DSN__'"));
  // Beside the original, so `@pulsekit/sdk` resolves to this package exactly as in the user's project.
  const file = join(SDK_DIR, 'quickstart', `.run-${process.pid}.mjs`);
  writeFileSync(file, source.replace('__DSN__', key.dsn));
  try {
    await run(process.execPath, [file], { timeout: 30_000 });
  } finally {
    rmSync(file, { force: true });
  }
  const events = await pulse.readEvents(key.key);
  const byType = Object.fromEntries(events.map((event) => [event.type, event]));
  assert.deepEqual(Object.keys(byType).sort(), ['error', 'message', 'payment.success']);
  assert.deepEqual(byType['payment.success'].metadata, { amount_cents: 4999, currency: 'EUR' });
  assert.equal(byType.message.level, 'warning');
  const error = byType.error;
  assert.equal(error.exception.type, 'SyntaxError');
  assert.deepEqual(error.tags, { step: 'parse-order' });
  assert.equal(error.environment, 'production');
  assert.equal(error.release, 'shop@2.4.1');
  assert.ok(error.stacktrace.frames.some((frame) => frame.in_app && frame.filename.endsWith('.mjs')));
  assert.ok(error.issue_id, 'grouped into an issue');
});

test('the example app reports per-request users, a cause chain, and its crash', async () => {
  const { key } = await pulse.newProject('example');
  const child = spawn(process.execPath, [join(SDK_DIR, 'examples', 'checkout-server.mjs')], {
    env: { ...process.env, PULSEKIT_DSN: key.dsn, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const base = await eventually(() => /listening on (\S+)/.exec(output)?.[1], 'the example to listen');
    const answers = await Promise.all([
      fetch(`${base}/checkout?user=42&items=3`).then((r) => r.status),
      fetch(`${base}/checkout?user=7&items=0`).then((r) => r.status),
    ]);
    assert.deepEqual(answers, [200, 500]);
    await fetch(`${base}/crash`);
    assert.equal(await exited, 1, 'the uncaught error ends the process as it would without the SDK');
  } finally {
    child.kill();
  }
  const events = await eventually(async () => {
    const stored = await pulse.readEvents(key.key);
    return stored.length >= 3 && stored;
  }, 'three events from the example');
  const paid = events.find((event) => event.type === 'payment.success');
  const failed = events.find((event) => event.exception?.type === 'CheckoutError');
  const crash = events.find((event) => event.exception?.type === 'TypeError');
  assert.deepEqual([paid.user, paid.tags], [{ id: '42' }, { service: 'checkout', route: '/checkout' }]);
  assert.deepEqual(failed.user, { id: '7' }, "the failing request's own user");
  assert.deepEqual(failed.exception.chain.map((entry) => entry.type), ['RangeError']);
  assert.deepEqual([crash.level, crash.tags.mechanism, crash.user], ['fatal', 'uncaughtException', null]);
  assert.match(output, /TypeError: invoice template missing/);
});

test('npm pack: the tarball installs, and both its ESM and CommonJS entry points send', async () => {
  const { key } = await pulse.newProject('packed');
  const work = mkdtempSync(join(tmpdir(), 'pulsekit-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: SDK_DIR, timeout: 60_000 });
    const tarball = join(work, stdout.trim().split('\n').at(-1));
    const { stdout: listing } = await run('tar', ['-tzf', tarball]);
    for (const file of ['dist/esm/node.js', 'dist/esm/index.d.ts', 'dist/cjs/node.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json']) {
      assert.ok(listing.includes(`package/${file}`), `${file} is in the tarball`);
    }
    assert.ok(!listing.includes('package/src/') && !listing.includes('package/test/'), 'only the build ships');
    const app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name": "consumer", "private": true}\n');
    await run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: app, timeout: 120_000 });
    const send = (entry) => `pulse.captureMessage('sent from ${entry}', { tags: { entry: '${entry}' } });\nawait pulse.close();`;
    writeFileSync(join(app, 'esm.mjs'), `import { PulseKit } from '@pulsekit/sdk';\nconst pulse = new PulseKit({ dsn: ${JSON.stringify(key.dsn)} });\n${send('esm')}\n`);
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const { PulseKit } = require('@pulsekit/sdk');\nconst pulse = new PulseKit({ dsn: ${JSON.stringify(key.dsn)} });\n(async () => {\n${send('cjs')}\n})();\n`,
    );
    // Types resolve for both kinds of TypeScript consumers.
    writeFileSync(join(app, 'typed.mts'), "import { PulseKit, type WireEvent } from '@pulsekit/sdk';\nconst e: WireEvent | undefined = undefined;\nexport const p: PulseKit | typeof e = undefined;\n");
    writeFileSync(join(app, 'typed.cts'), "import sdk = require('@pulsekit/sdk');\nexport const init: typeof sdk.init = sdk.init;\n");
    await run(process.execPath, [join(app, 'esm.mjs')], { cwd: app, timeout: 30_000 });
    await run(process.execPath, [join(app, 'cjs.cjs')], { cwd: app, timeout: 30_000 });
    const tsc = join(SDK_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node',
      '--typeRoots', join(SDK_DIR, 'node_modules', '@types'), 'typed.mts', 'typed.cts'], { cwd: app, timeout: 60_000 });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const events = await pulse.readEvents(key.key);
  assert.deepEqual(events.map((event) => event.tags.entry).sort(), ['cjs', 'esm']);
});
