// Delivery against a local HTTP server: batching, retries, Retry-After, overflow, lost answers, refusals.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PulseKit } from '../dist/esm/node.js';
import { startCaptureServer } from './helpers.mjs';

const servers = [];
after(() => Promise.all(servers.map((server) => server.close())));

async function setup(respond, options = {}) {
  const server = await startCaptureServer(respond);
  servers.push(server);
  const reports = [];
  const client = new PulseKit({
    endpoint: server.url,
    apiKey: 'pk_test',
    batchIntervalMs: 20,
    captureUncaught: false,
    breadcrumbs: false,
    onInternalError: (message) => reports.push(message),
    ...options,
  });
  return { server, client, reports };
}

const idsOf = (request) => request.body.events.map((event) => event.id);

test('captures flushed together leave in one gzip batch, in call order, with the key', async () => {
  const { server, client } = await setup();
  const ids = ['one', 'two', 'three'].map((message) => client.capture({ type: 'job.step', message }));
  assert.equal(server.requests.length, 0, 'capture never sends inside the call');
  assert.equal(await client.flush(5000), true);
  assert.equal(server.requests.length, 1);
  const [request] = server.requests;
  assert.equal(request.method, 'POST');
  assert.equal(request.path, '/api/v1/events/batch');
  assert.equal(request.headers['content-encoding'], 'gzip');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['x-pulsekit-key'], 'pk_test');
  assert.deepEqual(idsOf(request), ids);
  assert.deepEqual(request.body.events.map((event) => event.message), ['one', 'two', 'three']);
  await client.close();
});

test('batches hold at most maxBatchSize events', async () => {
  const { server, client } = await setup(undefined, { maxBatchSize: 2 });
  for (let i = 0; i < 5; i++) client.capture({ message: `m${i}` });
  assert.equal(await client.flush(5000), true);
  assert.deepEqual(server.requests.map((request) => request.body.events.length), [2, 2, 1]);
  await client.close();
});

test('a partial batch leaves after batchIntervalMs without a flush', async () => {
  const { server, client } = await setup(undefined, { batchIntervalMs: 50 });
  client.captureMessage('alone');
  const deadline = Date.now() + 5000;
  while (server.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.requests.length, 1);
  await client.close();
});

test('server errors are retried with the same events and ids until accepted', async () => {
  const { server, client } = await setup((_, index) => (index < 2 ? { status: 500 } : { status: 202 }));
  client.captureMessage('retry me');
  client.captureMessage('and me');
  assert.equal(await client.flush(15_000), true);
  assert.equal(server.requests.length, 3);
  assert.deepEqual(idsOf(server.requests[1]), idsOf(server.requests[0]));
  assert.deepEqual(idsOf(server.requests[2]), idsOf(server.requests[0]));
  assert.deepEqual(client.droppedEvents(), {});
  await client.close();
});

test('a lost answer (connection dropped after the request) is retried with the same ids', async () => {
  const { server, client } = await setup((_, index) => (index === 0 ? { destroy: true } : { status: 202 }));
  const id = client.captureMessage('sent twice, stored once');
  assert.equal(await client.flush(15_000), true);
  assert.equal(server.requests.length, 2);
  assert.deepEqual(idsOf(server.requests[0]), [id]);
  assert.deepEqual(idsOf(server.requests[1]), [id]);
  await client.close();
});

for (const status of [503, 429]) {
  test(`a ${status} with Retry-After is waited for, then the same batch is sent again`, async () => {
    const { server, client } = await setup((_, index) =>
      index === 0 ? { status, headers: { 'Retry-After': '1' }, body: '{"error":{"code":"busy"}}' } : { status: 202 },
    );
    client.captureMessage('patience');
    assert.equal(await client.flush(15_000), true);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(idsOf(server.requests[1]), idsOf(server.requests[0]));
    // The server asked for a second; backoff alone would have come back after 250-500 ms.
    assert.ok(server.requests[1].at - server.requests[0].at >= 900, 'retried before the Retry-After delay');
    await client.close();
  });
}

test('a full queue drops new events, counts them, and flush reports it', async () => {
  const { server, client } = await setup(undefined, { maxQueueSize: 3, batchIntervalMs: 60_000 });
  const ids = Array.from({ length: 5 }, (_, i) => client.captureMessage(`m${i}`));
  assert.equal(ids.filter(Boolean).length, 3);
  assert.deepEqual(ids.slice(3), [undefined, undefined]);
  assert.deepEqual(client.droppedEvents(), { queue_full: 2 });
  assert.equal(await client.flush(5000), false, 'something was dropped since the last flush');
  assert.deepEqual(server.events().map((event) => event.message), ['m0', 'm1', 'm2']);
  client.captureMessage('after');
  assert.equal(await client.flush(5000), true, 'nothing dropped since the previous flush');
  await client.close();
});

test('the queue is bounded in bytes as well as in events', async () => {
  const { client } = await setup(undefined, { maxQueueBytes: 10_000, batchIntervalMs: 60_000 });
  const big = 'x'.repeat(3000);
  const ids = Array.from({ length: 5 }, () => client.captureMessage(big));
  assert.equal(ids.filter(Boolean).length, 3);
  assert.deepEqual(client.droppedEvents(), { queue_bytes: 2 });
  await client.close();
});

test('a 401 stops sending for good and is reported once', async () => {
  const { server, client, reports } = await setup(() => ({
    status: 401,
    body: '{"error":{"code":"unauthorized","message":"unknown or revoked API key","field":null}}',
  }));
  client.captureMessage('first');
  assert.equal(await client.flush(5000), false);
  client.captureMessage('second');
  client.captureMessage('third');
  assert.equal(await client.flush(1000), false);
  assert.equal(server.requests.length, 1);
  assert.deepEqual(client.droppedEvents(), { unauthorized: 3 });
  assert.equal(reports.length, 1);
  assert.match(reports[0], /401 unauthorized/);
  await client.close();
});

test('a 422 drops the batch without retrying and reports the field', async () => {
  const { server, client, reports } = await setup(() => ({
    status: 422,
    body: '{"error":{"code":"invalid_field","message":"bad","field":"events[0].level"}}',
  }));
  client.captureMessage('refused');
  assert.equal(await client.flush(5000), false);
  assert.equal(server.requests.length, 1);
  assert.deepEqual(client.droppedEvents(), { rejected: 1 });
  assert.match(reports[0], /events\[0\]\.level/);
  await client.close();
});

test('after maxRetries the batch is dropped and counted', async () => {
  const { server, client } = await setup(() => ({ status: 500 }), { maxRetries: 1 });
  client.captureMessage('doomed');
  assert.equal(await client.flush(10_000), false);
  assert.equal(server.requests.length, 2);
  assert.deepEqual(client.droppedEvents(), { retries_exhausted: 1 });
  await client.close();
});

test('a server that cannot be reached is retried, and flush gives up at its timeout', async () => {
  const { server, client } = await setup();
  await server.close();
  client.captureMessage('nowhere to go');
  assert.equal(await client.flush(700), false);
  assert.equal(client.pendingCount(), 1, 'still queued for the next attempt');
  await client.close(0);
  assert.deepEqual(client.droppedEvents(), { closed: 1 });
});

test('capture after close is dropped and counted, never thrown', async () => {
  const { client } = await setup();
  await client.close();
  assert.equal(client.captureMessage('late'), undefined);
  assert.deepEqual(client.droppedEvents(), { closed: 1 });
});
