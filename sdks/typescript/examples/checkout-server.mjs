// A small shop backend (node:http, no framework) reporting to PulseKit.
//
//   PULSEKIT_DSN='http://pk_…@127.0.0.1:4000/1' node examples/checkout-server.mjs
//   curl 'http://127.0.0.1:3000/checkout?user=42&items=3'   # a payment.success event
//   curl 'http://127.0.0.1:3000/checkout?user=7&items=0'    # a CheckoutError with its cause, user 7
//   curl 'http://127.0.0.1:3000/crash'                      # an uncaught error: reported, then the process exits
//
// Every request gets its own scope automatically: the user and tags set while handling one
// request never appear on another's events, however their awaits interleave.
import { createServer } from 'node:http';
import * as pulsekit from '@pulsekit/sdk';

pulsekit.init({
  dsn: process.env.PULSEKIT_DSN,
  environment: process.env.NODE_ENV ?? 'development',
  release: 'shop-backend@1.0.0',
  tags: { service: 'checkout' },
});

class CheckoutError extends Error {
  name = 'CheckoutError';
}

async function reserveStock(items) {
  await new Promise((resolve) => setTimeout(resolve, 5)); // a database call
  if (items < 1) throw new RangeError(`cannot reserve ${items} items`);
}

async function checkout(userId, items) {
  pulsekit.setUser({ id: userId });
  pulsekit.setTag('route', '/checkout');
  try {
    await reserveStock(items);
  } catch (cause) {
    throw new CheckoutError('checkout failed', { cause });
  }
  pulsekit.capture({ type: 'payment.success', message: `user ${userId} paid for ${items} items`, metadata: { items } });
  return { ok: true, items };
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    if (url.pathname === '/checkout') {
      const body = await checkout(url.searchParams.get('user') ?? 'anonymous', Number(url.searchParams.get('items') ?? 1));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    } else if (url.pathname === '/crash') {
      res.writeHead(202).end('crashing\n');
      setTimeout(function renderInvoice() {
        throw new TypeError('invoice template missing');
      });
    } else {
      res.writeHead(404).end('not found\n');
    }
  } catch (error) {
    const id = pulsekit.captureException(error);
    res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'internal error', event_id: id }));
  }
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// On SIGTERM: stop taking requests, send what is queued, exit.
process.on('SIGTERM', () => {
  server.close();
  void pulsekit.close(2000).then(() => process.exit(0));
});
