// Sends events with the official @sentry/node SDK, default transport unchanged, to the DSN in
// PULSEKIT_DSN; prints the SDK's event ids as JSON. Driven by tests/sentry/test_real_clients.py.
import * as Sentry from '@sentry/node';

Sentry.init({
  dsn: process.env.PULSEKIT_DSN,
  release: 'shop-node@1.2.3',
  environment: 'staging',
  debug: process.env.SENTRY_DEBUG === '1',
});
Sentry.setTag('region', 'eu-west');
Sentry.setTag('customer_tier', 'gold');
Sentry.setUser({ id: '7', email: 'grace@example.com', username: 'grace' });
Sentry.addBreadcrumb({ category: 'cart', message: 'added 3 seats of pro', level: 'info' });
Sentry.addBreadcrumb({ category: 'http', message: 'GET /prices?region=apac', level: 'info' });

function loadPriceTable(region) {
  const tables = { eu: { pro: 29 } };
  return tables[region].pro; // TypeError for an unknown region
}

function priceFor(plan, region) {
  try {
    return loadPriceTable(region);
  } catch (err) {
    throw new Error(`no price for plan ${plan} in region ${region}`, { cause: err });
  }
}

function checkout(cart, region) {
  try {
    return cart.reduce((total, line) => total + priceFor(line.plan, region) * line.seats, 0);
  } catch (err) {
    throw new Error(`checkout failed for cart of ${cart.length} lines`, { cause: err });
  }
}

function main() {
  const ids = {};
  try {
    checkout([{ plan: 'pro', seats: 3 }], 'apac');
  } catch (err) {
    ids.error = Sentry.captureException(err);
  }
  ids.message = Sentry.captureMessage('cart abandoned after 3 retries', 'warning');
  // Over 32 KB, so the default transport gzips the body (and streams it, chunked).
  ids.large = Sentry.captureException(new Error('large payload'), { extra: { blob: 'x'.repeat(40_000) } });
  return ids;
}

const ids = main();
const flushed = await Sentry.flush(10_000);
console.log(JSON.stringify({ ...ids, flushed }));
