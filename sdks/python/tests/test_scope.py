"""Global tags/user/context, and scoped ones that stay within their thread or asyncio task."""

from __future__ import annotations

import asyncio
import threading

import pulsekit_sdk


def events_by_message(server) -> dict:
    assert pulsekit_sdk.flush(5.0)
    return {event['message']: event for event in server.events()}


def test_global_tags_user_and_context_reach_every_event_and_call_values_win(global_client, server):
    global_client(tags={'service': 'billing'})
    pulsekit_sdk.set_tag('region', 'eu-west')
    pulsekit_sdk.set_tags({'host': 'web-1', 'service': 'billing-v2'})
    pulsekit_sdk.set_user({'id': 42, 'email': 'ada@example.com', 'nickname': 'not a protocol field'})
    pulsekit_sdk.set_context('build', {'sha': 'abc123'})
    pulsekit_sdk.capture_message('first', tags={'host': 'web-2'}, metadata={'build': 'call wins'})
    pulsekit_sdk.set_tag('region', None)
    pulsekit_sdk.capture_message('second')

    events = events_by_message(server)
    assert events['first']['tags'] == {'service': 'billing-v2', 'region': 'eu-west', 'host': 'web-2'}
    assert events['first']['user'] == {'id': '42', 'email': 'ada@example.com'}
    assert events['first']['metadata'] == {'build': 'call wins'}
    assert events['second']['tags'] == {'service': 'billing-v2', 'host': 'web-1'}
    assert events['second']['metadata'] == {'build': {'sha': 'abc123'}}


def test_a_second_init_starts_without_the_first_ones_global_tags(global_client, server):
    global_client()
    pulsekit_sdk.set_tag('stale', 'yes')
    global_client()
    pulsekit_sdk.capture_message('fresh')

    assert 'tags' not in events_by_message(server)['fresh']


def test_scope_values_apply_inside_the_block_nest_and_are_gone_after_it(global_client, server):
    global_client()
    pulsekit_sdk.set_tag('layer', 'global')
    with pulsekit_sdk.scope(tags={'request_id': 'r1'}, user={'id': '7'}) as outer:
        outer.set_context('route', '/checkout')
        with pulsekit_sdk.scope(tags={'layer': 'inner'}):
            pulsekit_sdk.capture_message('inner')
        pulsekit_sdk.capture_message('outer')
    pulsekit_sdk.capture_message('after')

    events = events_by_message(server)
    assert events['inner']['tags'] == {'layer': 'inner', 'request_id': 'r1'}
    assert events['inner']['user'] == {'id': '7'}
    assert events['outer']['tags'] == {'layer': 'global', 'request_id': 'r1'}
    assert events['outer']['metadata'] == {'route': '/checkout'}
    assert events['after']['tags'] == {'layer': 'global'}
    assert 'user' not in events['after'] and 'metadata' not in events['after']


def test_scopes_of_concurrent_threads_do_not_see_each_other(global_client, server):
    global_client()
    both_inside = threading.Barrier(2, timeout=5)

    def handle(request_id: str) -> None:
        with pulsekit_sdk.scope(tags={'request_id': request_id}):
            both_inside.wait()  # both scopes are open at the same time
            pulsekit_sdk.capture_message(f'from {request_id}')

    threads = [threading.Thread(target=handle, args=(name,)) for name in ('a', 'b')]
    for thread in threads:
        thread.start()
    with pulsekit_sdk.scope(tags={'request_id': 'main'}):
        for thread in threads:
            thread.join(5)
    pulsekit_sdk.capture_message('from main, after its scope')

    events = events_by_message(server)
    assert events['from a']['tags'] == {'request_id': 'a'}
    assert events['from b']['tags'] == {'request_id': 'b'}
    assert 'tags' not in events['from main, after its scope']


def test_scopes_of_concurrent_asyncio_tasks_do_not_see_each_other(global_client, server):
    global_client()

    async def handle(request_id: str, my_turn: asyncio.Event, next_turn: asyncio.Event) -> None:
        with pulsekit_sdk.scope(tags={'request_id': request_id}):
            next_turn.set()
            await my_turn.wait()  # the other task enters its scope meanwhile
            pulsekit_sdk.capture_message(f'from {request_id}')
            next_turn.set()

    async def main() -> None:
        with pulsekit_sdk.scope(tags={'inherited': 'yes'}):
            turn_a, turn_b = asyncio.Event(), asyncio.Event()
            await asyncio.wait_for(asyncio.gather(handle('a', turn_a, turn_b), handle('b', turn_b, turn_a)), 5)
        pulsekit_sdk.capture_message('main, after its scope')

    asyncio.run(main())

    events = events_by_message(server)
    assert events['from a']['tags'] == {'inherited': 'yes', 'request_id': 'a'}
    assert events['from b']['tags'] == {'inherited': 'yes', 'request_id': 'b'}
    assert 'tags' not in events['main, after its scope']
