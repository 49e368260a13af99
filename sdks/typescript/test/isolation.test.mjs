// Context that follows the request: concurrent requests never see each other's user, tags or breadcrumbs.
import assert from 'node:assert/strict';
import { request as httpRequest, createServer } from 'node:http';
import { test } from 'node:test';
import { PulseKit } from '../dist/esm/node.js';
import { sleep } from './helpers.mjs';

function memoryClient(options = {}) {
  const events = [];
  const client = new PulseKit({
    transport: { send: async (batch) => void events.push(...batch.events) },
    captureUncaught: false,
    breadcrumbs: false,
    ...options,
  });
  return { client, events };
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

test('two concurrent HTTP requests keep their own user and tags (no explicit scope needed)', async () => {
  const { client, events } = memoryClient({ tags: { service: 'api' } });
  let bHasSetItsUser;
  const bReady = new Promise((resolve) => (bHasSetItsUser = resolve));
  const server = createServer(async (req, res) => {
    const who = req.url.slice(1);
    client.setUser({ id: who });
    client.setTag('request', who);
    // Interleave: a waits until b has set its own user and tags, then both capture.
    if (who === 'a') await bReady;
    else bHasSetItsUser();
    await sleep(who === 'a' ? 5 : 30);
    client.captureMessage(`handled ${who}`);
    res.end('ok');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address();
    await Promise.all([get(port, '/a'), get(port, '/b')]);
    client.captureMessage('outside any request');
    assert.equal(await client.flush(2000), true);
  } finally {
    server.close();
    await client.close();
  }
  const byMessage = Object.fromEntries(events.map((event) => [event.message, event]));
  assert.deepEqual(byMessage['handled a'].user, { id: 'a' });
  assert.deepEqual(byMessage['handled a'].tags, { service: 'api', request: 'a' });
  assert.deepEqual(byMessage['handled b'].user, { id: 'b' });
  assert.deepEqual(byMessage['handled b'].tags, { service: 'api', request: 'b' });
  assert.equal(byMessage['outside any request'].user, undefined);
  assert.deepEqual(byMessage['outside any request'].tags, { service: 'api' });
});

test('withScope isolates interleaved async tasks, and scopes nest', async () => {
  const { client, events } = memoryClient();
  client.setTag('global', 'yes');
  const task = (name, delays) =>
    client.withScope(async (scope) => {
      scope.setUser({ id: name });
      await sleep(delays[0]);
      client.setTag('task', name); // module-style call inside the scope lands on the scope
      await sleep(delays[1]);
      await client.withScope(async (inner) => {
        inner.setTag('step', `${name}-inner`);
        await sleep(delays[0]);
        client.captureMessage(`${name} inner`);
      });
      client.captureMessage(`${name} outer`);
    });
  await Promise.all([task('t1', [20, 1]), task('t2', [1, 20]), task('t3', [10, 10])]);
  assert.equal(await client.flush(2000), true);
  await client.close();
  const byMessage = Object.fromEntries(events.map((event) => [event.message, event]));
  for (const name of ['t1', 't2', 't3']) {
    assert.deepEqual(byMessage[`${name} inner`].user, { id: name });
    assert.deepEqual(byMessage[`${name} inner`].tags, { global: 'yes', task: name, step: `${name}-inner` });
    assert.deepEqual(byMessage[`${name} outer`].tags, { global: 'yes', task: name }, 'the inner scope ended with its callback');
  }
});

test("a request's breadcrumbs go with that request's errors only", async () => {
  const original = console.info;
  const { client, events } = memoryClient({ breadcrumbs: { console: true, fetch: false } });
  try {
    await Promise.all(
      ['a', 'b'].map((who) =>
        client.withScope(async () => {
          console.info(`step 1 of ${who}`);
          await sleep(who === 'a' ? 20 : 1);
          console.info(`step 2 of ${who}`);
          client.captureException(new Error(`failed ${who}`));
        }),
      ),
    );
  } finally {
    await client.flush(2000);
    await client.close();
  }
  assert.equal(console.info, original, 'close() put the original console back');
  for (const who of ['a', 'b']) {
    const event = events.find((e) => e.message === `failed ${who}`);
    assert.deepEqual(
      event.metadata.breadcrumbs.map((crumb) => [crumb.category, crumb.level, crumb.message]),
      [['console', 'info', `step 1 of ${who}`], ['console', 'info', `step 2 of ${who}`]],
    );
  }
});
