"""Sends events with the official `sentry-sdk`, default transport unchanged (brotli-compressed when
`brotli` is installed, as it is with PulseKit), to the DSN in PULSEKIT_DSN; prints the event ids
as JSON. Run in its own process by tests/sentry/test_real_clients.py, like a real app would.
"""

import json
import os

import sentry_sdk


def load_price_table(region):
    tables = {'eu': {'pro': 29}}
    return tables[region]


def price_for(plan, region):
    try:
        return load_price_table(region)[plan]
    except KeyError as exc:
        raise LookupError(f'no price for plan {plan} in region {region}') from exc


def checkout(cart, region):
    try:
        return sum(price_for(line['plan'], region) * line['seats'] for line in cart)
    except LookupError as exc:
        raise RuntimeError(f'checkout failed for cart of {len(cart)} lines') from exc


def main():
    sentry_sdk.init(dsn=os.environ['PULSEKIT_DSN'], release='shop-py@2.4.1', environment='production')
    sentry_sdk.set_tag('region', 'eu-west')
    sentry_sdk.set_tag('customer_tier', 'gold')
    sentry_sdk.set_user({'id': '42', 'email': 'ada@example.com', 'username': 'ada'})
    sentry_sdk.add_breadcrumb(category='cart', message='added 3 seats of pro', level='info')
    sentry_sdk.add_breadcrumb(category='http', message='GET /prices?region=apac', level='info')
    ids = {}
    try:
        checkout([{'plan': 'pro', 'seats': 3}], 'apac')
    except RuntimeError:
        ids['error'] = sentry_sdk.capture_exception()
    ids['message'] = sentry_sdk.capture_message('cart abandoned after 3 retries', level='warning')
    sentry_sdk.flush(timeout=10)
    # Which compression the default transport chose (brotli when the package is installed), for the test to check.
    ids['compression'] = sentry_sdk.get_client().transport._compression_algo
    print(json.dumps(ids))


if __name__ == '__main__':
    main()
