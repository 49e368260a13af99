"""A small script that reports to PulseKit: a custom event, a message, a handled error, a crash.

Run it against a local server (see the repository README for `pulsekit serve` and creating a key):

    PULSEKIT_DSN='http://pk_…@127.0.0.1:4000/1' python sdks/python/examples/checkout.py [--crash]

With --crash it ends with an uncaught exception: the SDK still sends it before the process exits.
"""

import logging
import sys

import pulsekit_sdk


def scrub(event):
    """before_send: never send card numbers, drop health-check noise."""
    if event.get('message') == 'health check':
        return None
    metadata = event.get('metadata', {})
    if 'card_number' in metadata:
        metadata['card_number'] = '****'
    return event


def charge(order_id, amount_cents):
    if amount_cents <= 0:
        raise ValueError(f'order {order_id}: amount must be positive, got {amount_cents}')
    return {'order_id': order_id, 'status': 'paid'}


def main():
    # With no dsn argument, init() reads PULSEKIT_DSN (or PULSEKIT_ENDPOINT and PULSEKIT_API_KEY).
    pulsekit_sdk.init(
        environment='development',
        release='checkout-example@1.0.0',
        tags={'service': 'checkout'},
        before_send=scrub,
        log_level=logging.ERROR,  # logging.error(...) and logging.exception(...) become events
    )
    pulsekit_sdk.set_user({'id': '42', 'email': 'ada@example.com'})

    event_id = pulsekit_sdk.capture(
        type='payment.success',
        level='info',
        message='Order 1234 paid',
        metadata={'amount_cents': 4999, 'currency': 'EUR', 'card_number': '4242424242424242'},
        tags={'provider': 'stripe'},
    )
    print(f'sent payment.success as {event_id}')

    pulsekit_sdk.capture_message('health check')  # dropped by scrub(): returns None
    pulsekit_sdk.capture_message('Inventory below 10 units', level='warning', tags={'sku': 'A-1'})

    with pulsekit_sdk.scope(tags={'order_id': '1235'}):
        try:
            charge(1235, 0)
        except ValueError:
            print(f'sent a handled error as {pulsekit_sdk.capture_exception()}')

    try:
        charge(1236, -5)
    except ValueError:
        logging.exception('charging order 1236 failed')

    delivered = pulsekit_sdk.flush(5.0)
    print(f'flushed: {delivered}; dropped so far: {pulsekit_sdk.get_client().dropped_events()}')

    if '--crash' in sys.argv:
        charge(1237, -1)  # uncaught: reported by sys.excepthook, sent by the flush at exit


if __name__ == '__main__':
    main()
