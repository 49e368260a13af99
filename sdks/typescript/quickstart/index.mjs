import { PulseKit } from '@pulsekit/sdk';

const pulse = new PulseKit({ dsn: '__DSN__', environment: 'production', release: 'shop@2.4.1' });

// A custom event
pulse.capture({
  type: 'payment.success',
  level: 'info',
  message: 'Order 1234 paid',
  metadata: { amount_cents: 4999, currency: 'EUR' },
  tags: { provider: 'stripe' },
});

// A message
pulse.captureMessage('Inventory below 10 units', 'warning');

// A handled error (uncaught errors and unhandled rejections are reported automatically)
try {
  JSON.parse('{"order": 1234');
} catch (error) {
  pulse.captureException(error, { tags: { step: 'parse-order' } });
}

// Send what is queued before the script ends (a server keeps running and sends in the background)
await pulse.close();
