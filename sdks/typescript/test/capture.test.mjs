// What events look like on the wire: the shared vectors, exceptions, options, hooks, and nothing ever thrown.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as pulsekit from '../dist/esm/node.js';
import { initOptions, raiseError, runCalls } from '../conformance/program.mjs';
import { REPO_ROOT, startCaptureServer } from './helpers.mjs';
import { wireDiff } from './wire-match.mjs';

const { PulseKit, PulseKitConfigError, parseDsn } = pulsekit;
const VECTORS_DIR = join(REPO_ROOT, 'sdks', 'conformance', 'vectors');
const server = await startCaptureServer();
after(() => server.close());

function client(options = {}) {
  return new PulseKit({ endpoint: server.url, apiKey: 'pk_test', captureUncaught: false, breadcrumbs: false, ...options });
}

/** The events one client sent after `act(client)` and a flush. */
async function sent(act, options = {}) {
  const pk = client(options);
  const before = server.requests.length;
  act(pk);
  assert.equal(await pk.flush(5000), true);
  await pk.close();
  return server.requests.slice(before).flatMap((request) => request.body.events);
}

for (const file of readdirSync(VECTORS_DIR).filter((name) => name.endsWith('.json')).sort()) {
  const vector = JSON.parse(readFileSync(join(VECTORS_DIR, file), 'utf8'));
  test(`vector ${vector.name}: one request whose body matches the expected wire JSON`, async () => {
    const pk = client({ ...initOptions(vector.input.init) });
    const before = server.requests.length;
    const ids = runCalls(pk, vector.input.calls);
    assert.equal(await pk.flush(5000), true);
    await pk.close();
    const requests = server.requests.slice(before);
    assert.equal(requests.length, 1);
    const [request] = requests;
    assert.equal(request.method, vector.expected_request.method);
    assert.equal(request.path, vector.expected_request.path);
    for (const [name, value] of Object.entries(vector.expected_request.headers)) {
      assert.equal(request.headers[name.toLowerCase()].split(';')[0], value);
    }
    assert.deepEqual(wireDiff(vector.expected_wire, request.body, vector), []);
    assert.deepEqual(request.body.events.map((event) => event.id), ids);
  });
}

test('an exception carries its cause chain and AggregateError members, direct cause first', async () => {
  const root = new TypeError('socket closed');
  const middle = new Error('gateway failed', { cause: root });
  const aggregate = new AggregateError([new RangeError('a'), 'plain string'], 'all retries failed', { cause: middle });
  const [event] = await sent((pk) => pk.captureException(aggregate));
  assert.equal(event.exception.type, 'AggregateError');
  assert.deepEqual(
    event.exception.chain.map((entry) => [entry.type, entry.value]),
    [['Error', 'gateway failed'], ['TypeError', 'socket closed'], ['RangeError', 'a'], ['Error', 'plain string']],
  );
  assert.ok(event.exception.chain[0].stacktrace.frames.length > 0);
  assert.equal(event.level, 'error');
  assert.equal(event.type, 'error');
});

test('a subclass without its own name is reported by its class name; frames end in the thrower', async () => {
  let thrown;
  try {
    raiseError({ type: 'PaymentDeclined', message: 'card declined', function: 'chargeCard' });
  } catch (error) {
    thrown = error;
  }
  const [event] = await sent((pk) => pk.captureException(thrown, { tags: { provider: 'stripe' }, level: 'fatal' }));
  assert.deepEqual(event.exception, { type: 'PaymentDeclined', value: 'card declined' });
  assert.equal(event.message, 'card declined');
  assert.equal(event.level, 'fatal');
  assert.deepEqual(event.tags, { provider: 'stripe' });
  const last = event.stacktrace.frames.at(-1);
  assert.equal(last.function, 'chargeCard');
  assert.equal(last.in_app, true);
  assert.match(last.filename, /program\.mjs$/);
});

test('thrown non-errors still make an event', async () => {
  const events = await sent((pk) => {
    pk.captureException('just a string');
    pk.captureException({ code: 42 });
    pk.captureException(undefined);
  });
  assert.deepEqual(
    events.map((event) => event.exception),
    [
      { type: 'Error', value: 'just a string' },
      { type: 'Error', value: 'non-Error object thrown: {"code":42}' },
      { type: 'Error', value: 'non-Error thrown: undefined' },
    ],
  );
});

test('hostile input is made valid and nothing throws into the caller', async () => {
  const circular = { name: 'loop' };
  circular.self = circular;
  const events = await sent((pk) => {
    pk.setTag('bad key!', 'line\nbreak');
    pk.setTags({ n: 7, b: false, big: 10n, gone: null });
    pk.setUser({ id: 42, email: 'ada@example.com', name: 'not a protocol field' });
    pk.setContext('weird', { fn() {}, when: new Date(0), map: new Map([['a', 1]]), nan: NaN, circular });
    pk.capture({ type: 'has spaces/and slashes', level: 'nonsense', message: 'x'.repeat(9000), fingerprint: ['a', 1] });
  });
  const [event] = events;
  assert.equal(event.type, 'has_spaces_and_slashes');
  assert.equal(event.level, 'info');
  assert.equal(event.message.length, 8192);
  assert.deepEqual(event.tags, { bad_key_: 'line break', n: '7', b: 'false', big: '10' });
  assert.deepEqual(event.user, { id: '42', email: 'ada@example.com' });
  assert.deepEqual(event.metadata.weird, {
    fn: '[function fn]',
    when: '1970-01-01T00:00:00.000Z',
    map: { a: 1 },
    nan: 'NaN',
    circular: { name: 'loop', self: '[circular]' },
  });
  assert.deepEqual(event.fingerprint, ['a', '1']);
});

test('metadata over 64 KiB is replaced by a note of its size', async () => {
  const [event] = await sent((pk) => pk.capture({ message: 'big', metadata: { blob: 'x'.repeat(70_000) } }));
  assert.deepEqual(Object.keys(event.metadata), ['pulsekit_dropped_metadata_bytes']);
});

test('beforeSend can edit or drop events; one that throws drops the event (never sent unscrubbed)', async () => {
  const pk = client({
    beforeSend(event) {
      if (event.message === 'drop me') return null;
      if (event.message === 'explode') throw new Error('hook bug');
      return { ...event, tags: { ...event.tags, scrubbed: true } };
    },
    onInternalError: () => {},
  });
  const before = server.requests.length;
  assert.ok(pk.captureMessage('keep me'));
  assert.equal(pk.captureMessage('drop me'), undefined);
  assert.equal(pk.captureMessage('explode'), undefined);
  // A null from beforeSend is the caller's choice; a hook that throws lost an event: flush says so.
  assert.equal(await pk.flush(5000), false);
  const events = server.requests.slice(before).flatMap((request) => request.body.events);
  assert.deepEqual(events.map((event) => [event.message, event.tags]), [['keep me', { scrubbed: 'true' }]]);
  assert.deepEqual(pk.droppedEvents(), { before_send: 1, before_send_error: 1 });
  await pk.close();
});

test('sampleRate 0 sends nothing and flush still succeeds', async () => {
  const pk = client({ sampleRate: 0 });
  assert.equal(pk.captureMessage('sampled out'), undefined);
  assert.equal(await pk.flush(1000), true);
  assert.deepEqual(pk.droppedEvents(), { sample_rate: 1 });
  await pk.close();
});

test('a transport that throws in an unexpected way drops its batch and never reaches the app', async () => {
  const reports = [];
  const pk = new PulseKit({
    transport: { send: async () => { throw new Error('disk full'); } },
    captureUncaught: false,
    onInternalError: (message) => reports.push(message),
  });
  pk.captureMessage('lost');
  assert.equal(await pk.flush(1000), false);
  assert.deepEqual(pk.droppedEvents(), { transport_error: 1 });
  assert.match(reports[0], /disk full/);
  await pk.close();
});

test('a custom transport receives the events as objects and as the JSON body', async () => {
  const batches = [];
  const pk = new PulseKit({ transport: { send: async (batch) => void batches.push(batch) }, captureUncaught: false, release: 'r1' });
  const id = pk.capture({ type: 'signup', message: 'new user' });
  assert.equal(await pk.flush(1000), true);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].events[0].id, id);
  assert.equal(batches[0].events[0].release, 'r1');
  assert.equal(JSON.parse(batches[0].body).events[0].type, 'signup');
  await pk.close();
});

test('bad options throw a PulseKitConfigError that names the option', () => {
  const cases = [
    [{ endpoint: server.url, apiKey: 'k', enviroment: 'prod' }, 'enviroment', /did you mean "environment"/],
    [{ dsn: 'not a url' }, 'dsn', /not a URL/],
    [{ dsn: 'http://127.0.0.1:4000/1' }, 'dsn', /no key/],
    [{ endpoint: 'ftp://x' }, 'endpoint', /http/],
    [{ endpoint: server.url }, 'apiKey', /apiKey is required/],
    [{ endpoint: server.url, apiKey: 'k', sampleRate: 2 }, 'sampleRate', /from 0 to 1/],
    [{ endpoint: server.url, apiKey: 'k', maxBatchSize: 5000 }, 'maxBatchSize', /1 to 1000/],
    [{ endpoint: server.url, apiKey: 'k', environment: 'a/b' }, 'environment', /"\/"/],
    [{ endpoint: server.url, apiKey: 'k', beforeSend: 'yes' }, 'beforeSend', /function/],
    [{ endpoint: server.url, apiKey: 'k', transport: {} }, 'transport', /send/],
  ];
  for (const [options, option, message] of cases) {
    assert.throws(() => new PulseKit(options), (error) => error instanceof PulseKitConfigError && error.option === option && message.test(error.message));
  }
});

test('a DSN gives the endpoint (with any path prefix) and the key', () => {
  assert.deepEqual(parseDsn('http://pk_abc@127.0.0.1:4000/3'), { endpoint: 'http://127.0.0.1:4000', apiKey: 'pk_abc', project: '3' });
  assert.deepEqual(parseDsn('https://pk_abc@example.com/tracker/12'), { endpoint: 'https://example.com/tracker', apiKey: 'pk_abc', project: '12' });
});

test('without dsn or endpoint, PULSEKIT_DSN from the environment is used', () => {
  process.env.PULSEKIT_DSN = 'http://pk_env@127.0.0.1:4999/2';
  try {
    const pk = new PulseKit({ captureUncaught: false });
    assert.deepEqual([pk.options.endpoint, pk.options.apiKey], ['http://127.0.0.1:4999', 'pk_env']);
    void pk.close(0);
  } finally {
    delete process.env.PULSEKIT_DSN;
  }
  assert.throws(() => new PulseKit({}), /PULSEKIT_DSN/);
});

test('module-level functions use the default client; before init they do nothing', async () => {
  assert.equal(pulsekit.captureMessage('nobody listens'), undefined);
  assert.equal(await pulsekit.flush(100), true);
  const first = pulsekit.init({ endpoint: server.url, apiKey: 'pk_test', captureUncaught: false, breadcrumbs: false, environment: 'staging' });
  assert.equal(pulsekit.getClient(), first);
  const before = server.requests.length;
  pulsekit.setTag('region', 'eu');
  const id = pulsekit.captureMessage('hello', 'warning');
  assert.equal(await pulsekit.flush(5000), true);
  const [event] = server.requests.slice(before).flatMap((request) => request.body.events);
  assert.deepEqual([event.id, event.level, event.environment, event.tags], [id, 'warning', 'staging', { region: 'eu' }]);
  await pulsekit.close();
  assert.equal(pulsekit.getClient(), undefined);
});
