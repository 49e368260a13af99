"""set_user/set_tag/add_breadcrumb belong to the thread, task or request that calls them; init values to all."""

from __future__ import annotations

import asyncio
import threading

import pulsekit_sdk


def events_by_message(server) -> dict:
    assert pulsekit_sdk.flush(5.0)
    return {event['message']: event for event in server.events()}


def test_a_user_set_in_one_thread_never_appears_on_another_threads_events(global_client, server):
    global_client(tags={'service': 'billing'})
    both_set = threading.Barrier(2, timeout=5)

    def work(name: str) -> None:
        pulsekit_sdk.set_user({'id': name})
        pulsekit_sdk.set_tag('worker', name)
        pulsekit_sdk.add_breadcrumb(message=f'{name} started')
        both_set.wait()
        pulsekit_sdk.capture_message(f'from {name}')

    threads = [threading.Thread(target=work, args=(name,)) for name in ('a', 'b')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    pulsekit_sdk.capture_message('from main')

    events = events_by_message(server)
    for name in ('a', 'b'):
        assert events[f'from {name}']['user'] == {'id': name}
        assert events[f'from {name}']['tags'] == {'service': 'billing', 'worker': name}
        assert [crumb['message'] for crumb in events[f'from {name}']['metadata']['breadcrumbs']] == [f'{name} started']
    assert events['from main']['tags'] == {'service': 'billing'}, 'init tags are global, thread tags are not'
    assert 'user' not in events['from main'] and 'metadata' not in events['from main']


def test_concurrent_asyncio_tasks_keep_their_own_user_and_never_change_their_parents(global_client, server):
    global_client()

    async def handle(name: str, my_turn: asyncio.Event, other_turn: asyncio.Event) -> None:
        pulsekit_sdk.set_user({'id': name})
        other_turn.set()
        await my_turn.wait()  # the other task sets its user meanwhile
        pulsekit_sdk.capture_message(f'task {name}')

    async def main() -> None:
        pulsekit_sdk.set_tag('request', 'outer')
        turn_a, turn_b = asyncio.Event(), asyncio.Event()
        await asyncio.wait_for(asyncio.gather(handle('a', turn_a, turn_b), handle('b', turn_b, turn_a)), 5)
        pulsekit_sdk.capture_message('parent after its tasks')

    asyncio.run(main())

    events = events_by_message(server)
    assert events['task a']['user'] == {'id': 'a'} and events['task a']['tags'] == {'request': 'outer'}
    assert events['task b']['user'] == {'id': 'b'}
    assert 'user' not in events['parent after its tasks'], "a child task's user leaked into its parent"


def test_global_scope_values_reach_every_thread(global_client, server):
    global_client()
    pulsekit_sdk.global_scope().set_tag('deploy', 'blue')
    thread = threading.Thread(target=lambda: pulsekit_sdk.capture_message('in a thread'))
    thread.start()
    thread.join(5)

    assert events_by_message(server)['in a thread']['tags'] == {'deploy': 'blue'}


def test_the_newest_breadcrumbs_of_logging_http_and_by_hand_go_with_the_next_error(global_client, server):
    import logging
    import urllib.request

    from webservers import serve_wsgi

    def inventory(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'12']

    global_client(max_breadcrumbs=3)
    log = logging.getLogger('shop.checkout')
    log.setLevel(logging.INFO)
    log.info('cart loaded')  # pushed out by the three below
    pulsekit_sdk.add_breadcrumb(message='coupon applied', category='checkout', data={'code': 'X1'})
    log.info('charging %s', 'card')
    with serve_wsgi(inventory) as inventory_url, urllib.request.urlopen(f'{inventory_url}/stock?t=1') as response:
        response.read()
    pulsekit_sdk.capture_message('payment failed', level='error')

    (event,) = events_by_message(server).values()
    crumbs = event['metadata']['breadcrumbs']
    assert [crumb.get('message') for crumb in crumbs] == ['coupon applied', 'charging card', None]
    assert crumbs[0]['data'] == {'code': 'X1'} and crumbs[0]['category'] == 'checkout'
    assert crumbs[1]['category'] == 'shop.checkout' and crumbs[1]['level'] == 'info'
    assert crumbs[2]['type'] == 'http'
    assert crumbs[2]['data'] == {'method': 'GET', 'url': f'{inventory_url}/stock', 'status_code': 200}
    assert all(crumb['timestamp'].endswith('+00:00') for crumb in crumbs)


def test_error_log_records_become_events_by_default_and_the_sdks_own_log_never_loops(global_client, server):
    import logging

    global_client()
    logging.getLogger('shop.jobs').error('nightly export failed')
    logging.getLogger('shop.jobs').warning('slow export')  # below log_level: a breadcrumb only
    logging.getLogger('pulsekit_sdk').error('an SDK problem')  # never an event

    events = events_by_message(server)
    assert list(events) == ['nightly export failed']
    assert events['nightly export failed']['tags'] == {'logger': 'shop.jobs'}


def test_an_exception_captured_and_then_logged_is_sent_once(global_client, server):
    import logging

    global_client()
    try:
        raise TimeoutError('bank did not answer')
    except TimeoutError as exc:
        first = pulsekit_sdk.capture_exception(exc)
        logging.getLogger('shop').exception('charge failed')
        second = pulsekit_sdk.capture_exception(exc)

    assert first is not None and second is None
    assert pulsekit_sdk.flush(5.0)
    assert [event['id'] for event in server.events()] == [first]
    assert pulsekit_sdk.get_client().dropped_events() == {'duplicate': 1}
    assert pulsekit_sdk.last_event_id() == first
