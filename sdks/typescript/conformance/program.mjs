// The TypeScript SDK's conformance program (sdks/conformance/README.md): performs every vector's
// calls against a PulseKit server and prints {"vector", "ids", "flushed"} per vector.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulsekit from '../dist/esm/node.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Options for init from a vector's snake_case names. */
export function initOptions(init) {
  const names = { environment: 'environment', release: 'release', tags: 'tags', sample_rate: 'sampleRate' };
  return Object.fromEntries(Object.entries(init ?? {}).map(([key, value]) => [names[key] ?? key, value]));
}

/** Runs the vector's calls on `client` (a PulseKit); returns the ids the captures returned, in call order. */
export function runCalls(client, calls, ids = []) {
  for (const step of calls) {
    const args = { ...(step.args ?? {}) };
    switch (step.call) {
      case 'scope':
        client.withScope((scope) => {
          if (args.tags) scope.setTags(args.tags);
          if (args.user) scope.setUser(args.user);
          if (args.context) for (const [key, value] of Object.entries(args.context)) scope.setContext(key, value);
          runCalls(client, step.calls ?? [], ids);
        });
        break;
      case 'set_tag':
        client.setTag(args.key, args.value);
        break;
      case 'set_user':
        client.setUser(args.user);
        break;
      case 'set_context':
        client.setContext(args.key, args.value);
        break;
      case 'capture':
        ids.push(client.capture(args));
        break;
      case 'capture_message':
        ids.push(client.captureMessage(args.message, { level: args.level, tags: args.tags }));
        break;
      case 'capture_exception':
        try {
          raiseError(args.error);
        } catch (error) {
          ids.push(client.captureException(error, { tags: args.tags }));
        }
        break;
      default:
        throw new Error(`unknown call ${step.call} in a vector`);
    }
  }
  return ids;
}

/** Throws spec's error from a function named spec.function, caused by spec.cause if given. */
export function raiseError(spec) {
  // A computed key names both the class and the function, so frames and the type read as the vector says.
  const ErrorType = { [spec.type]: class extends Error {} }[spec.type];
  const thrower = {
    [spec.function]: function () {
      if (spec.cause) {
        try {
          raiseError(spec.cause);
        } catch (cause) {
          throw new ErrorType(spec.message, { cause });
        }
      }
      throw new ErrorType(spec.message);
    },
  }[spec.function];
  thrower();
}

async function main() {
  const vectorsDir = process.env.PULSEKIT_VECTORS_DIR || join(here, '..', '..', 'conformance', 'vectors');
  const flushTimeoutMs = Number(process.env.PULSEKIT_FLUSH_TIMEOUT_S || '30') * 1000;
  let isComplete = true;
  for (const name of readdirSync(vectorsDir).filter((file) => file.endsWith('.json')).sort()) {
    const vector = JSON.parse(readFileSync(join(vectorsDir, name), 'utf8'));
    const client = pulsekit.init({
      ...initOptions(vector.input.init),
      endpoint: process.env.PULSEKIT_ENDPOINT,
      apiKey: process.env.PULSEKIT_API_KEY,
      captureUncaught: false,
    });
    const ids = runCalls(client, vector.input.calls);
    const flushed = await pulsekit.flush(flushTimeoutMs);
    await pulsekit.close(1000);
    process.stdout.write(`${JSON.stringify({ vector: vector.name, ids, flushed })}\n`);
    isComplete &&= flushed;
  }
  process.exitCode = isComplete ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
