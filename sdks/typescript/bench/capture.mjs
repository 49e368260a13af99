// Benchmark of the TypeScript SDK (Node), against a live `pulsekit serve` started here:
//   1. time spent in the calling code per capture() and per captureException() (median, p99);
//   2. the same capture() while the server is unreachable (capture never waits for the network);
//   3. events per second delivered to the server from one process (captured, sent, acknowledged).
//
//   node bench/capture.mjs            (after `node scripts/build.mjs`; ~1 minute)
//   node bench/capture.mjs --json
import { cpus } from 'node:os';
import { PulseKit } from '../dist/esm/node.js';
import { startPulsekit } from '../test/helpers.mjs';

const CALLS = 20_000; // timed calls per measurement
const ROUND = 200; // calls between two flushes: the queue never fills, as in an app that is not saturated
const DELIVERY_EVENTS = 20_000;
const asJson = process.argv.includes('--json');

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(samplesNs) {
  const sorted = Float64Array.from(samplesNs).sort();
  return { median_us: percentile(sorted, 50) / 1000, p99_us: percentile(sorted, 99) / 1000, calls: sorted.length };
}

function depth(n, fn) {
  return n === 0 ? fn() : depth(n - 1, fn);
}

/** Times `call(i)` CALLS times, flushing between rounds (the flush is not timed). */
async function timeCalls(client, call) {
  const samples = [];
  for (let done = 0; done < CALLS; ) {
    for (let i = 0; i < ROUND; i++, done++) {
      const start = process.hrtime.bigint();
      call(done);
      samples.push(Number(process.hrtime.bigint() - start));
    }
    await client.flush(30_000);
  }
  return summary(samples);
}

const ORDER = { order_id: 1234, amount_cents: 4999, currency: 'EUR', cart: { items: 3, skus: ['A-1', 'B-2'] } };

async function main() {
  const server = await startPulsekit();
  try {
    const { key, project } = await server.newProject('bench');
    const admin = await server.createKey(project.slug, 'admin');
    const options = { dsn: key.dsn, environment: 'bench', release: 'bench@1', captureUncaught: false, breadcrumbs: false };
    const results = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model };

    // Warm up the JIT and the connection.
    const warm = new PulseKit(options);
    for (let i = 0; i < 2000; i++) warm.capture({ type: 'warmup', metadata: ORDER });
    await warm.close(30_000);

    const client = new PulseKit({ ...options, maxQueueSize: 10_000 });
    client.setTag('region', 'eu-west');
    results.capture = await timeCalls(client, (i) =>
      client.capture({ type: 'payment.success', message: `Order ${i} paid`, metadata: ORDER, tags: { provider: 'stripe' } }),
    );
    // A realistic error: thrown 12 frames deep, caught, captured (the stack is formatted and parsed inside the call).
    const errors = [];
    results.captureException = await timeCalls(client, (i) => {
      if (i % ROUND === 0) {
        errors.length = 0;
        for (let k = 0; k < ROUND; k++) {
          try {
            depth(10, () => {
              throw new TypeError(`cannot read properties of undefined (reading 'price') #${k}`);
            });
          } catch (error) {
            errors.push(error);
          }
        }
      }
      client.captureException(errors[i % ROUND], { tags: { route: '/checkout' } });
    });
    results.dropped_during_timing = client.droppedEvents();
    await client.close(30_000);

    // The same capture() with nothing listening: it must cost the same (no I/O in the call).
    const offline = new PulseKit({
      ...options,
      dsn: undefined,
      endpoint: 'http://127.0.0.1:9', // nothing listens on the discard port
      apiKey: key.key,
      maxQueueSize: CALLS * 2,
      maxQueueBytes: 200_000_000,
      maxRetries: 0,
      onInternalError: () => undefined,
    });
    const offlineSamples = [];
    for (let i = 0; i < CALLS; i++) {
      const start = process.hrtime.bigint();
      offline.capture({ type: 'payment.success', message: `Order ${i} paid`, metadata: ORDER, tags: { provider: 'stripe' } });
      offlineSamples.push(Number(process.hrtime.bigint() - start));
    }
    results.capture_server_unreachable = summary(offlineSamples);
    await offline.close(0);

    // Delivery: as many events as fast as one process can capture them, until the server has acknowledged all.
    const before = await storedCount(server.url, admin.key, project.slug);
    const sender = new PulseKit({ ...options, maxQueueSize: DELIVERY_EVENTS, maxQueueBytes: 200_000_000, maxBatchSize: 100 });
    const started = performance.now();
    for (let i = 0; i < DELIVERY_EVENTS; i++) sender.capture({ type: 'job.step', message: `step ${i}`, metadata: ORDER });
    const captured_ms = performance.now() - started;
    const flushed = await sender.flush(300_000);
    const elapsed_s = (performance.now() - started) / 1000;
    await sender.close();
    const stored = (await storedCount(server.url, admin.key, project.slug)) - before;
    results.delivery = {
      events: DELIVERY_EVENTS,
      batch_size: 100,
      flushed,
      stored,
      seconds: elapsed_s,
      events_per_s: stored / elapsed_s,
      capture_loop_ms: captured_ms,
      dropped: sender.droppedEvents(),
    };
    report(results);
    if (!flushed || stored !== DELIVERY_EVENTS) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

async function storedCount(url, adminKey, slug) {
  const response = await fetch(`${url}/api/v1/projects/${slug}`, { headers: { 'X-PulseKit-Key': adminKey } });
  return (await response.json()).events_24h;
}

function report(r) {
  if (asJson) return console.log(JSON.stringify(r, null, 2));
  const us = (s) => `median ${s.median_us.toFixed(2)} µs, p99 ${s.p99_us.toFixed(2)} µs (${s.calls.toLocaleString('en')} calls)`;
  console.log(`@pulsekit/sdk benchmark, ${r.date}, Node ${r.node}, ${r.cpus} × ${r.cpu}`);
  console.log(`capture()                     ${us(r.capture)}   target < 20 µs median: ${r.capture.median_us < 20 ? 'ok' : 'MISSED'}`);
  console.log(`captureException()            ${us(r.captureException)}`);
  console.log(`capture(), server unreachable ${us(r.capture_server_unreachable)}`);
  const d = r.delivery;
  console.log(
    `delivery: ${d.stored.toLocaleString('en')} of ${d.events.toLocaleString('en')} events stored in ${d.seconds.toFixed(1)} s = ` +
      `${Math.round(d.events_per_s).toLocaleString('en')} events/s (batches of ${d.batch_size}; capture loop ${d.capture_loop_ms.toFixed(0)} ms; flushed: ${d.flushed})`,
  );
  if (Object.keys(d.dropped).length || Object.keys(r.dropped_during_timing).length) {
    console.log(`dropped: ${JSON.stringify({ timing: r.dropped_during_timing, delivery: d.dropped })}`);
  }
}

await main();
