"""Events list and event detail pages: filters in the URL, search, facets, pagination, live rows."""

import asyncio
import time
import uuid
from datetime import UTC, datetime

from nicegui import ui
from nicegui.testing import User

from pulsekit.events.ingest import prepare_event
from pulsekit.users import update_preferences

from .dashboard import error_body, in_db, services, store_events, until


def table_rows(user: User) -> list[dict]:
    return user.find(marker='events-table').elements.pop().rows


def messages(user: User) -> set[str]:
    return {row['message'] for row in table_rows(user)}


async def test_events_table_lists_events_with_level_type_project_and_time(seeded, admin: User):
    await admin.open('/events')
    await admin.should_see(marker='events-table')
    rows = {row['message']: row for row in table_rows(admin)}
    assert set(rows) == {'division by zero', 'paid 12 EUR', 'slow checkout', 'database gone'}
    assert rows['database gone']['level'] == 'fatal'
    assert rows['database gone']['project'] == 'API'
    assert rows['paid 12 EUR']['type'] == 'payment.success'
    assert rows['division by zero']['time_rel'].endswith('ago')
    assert rows['division by zero']['time_abs'].endswith('UTC')
    await admin.should_see('4 events in this range')


async def test_filters_come_from_the_url_so_views_can_be_shared(seeded, admin: User):
    await admin.open(f'/events?level=error,fatal&project={seeded["shop"]}')
    assert messages(admin) == {'division by zero'}
    await admin.open('/events?type=payment.success')
    assert messages(admin) == {'paid 12 EUR'}
    await admin.open('/events?environment=staging')
    assert messages(admin) == {'slow checkout'}
    await admin.open('/events?release=shop@2.4.1')
    assert messages(admin) == {'division by zero'}
    await admin.open('/events?tag=region:us-east')
    assert messages(admin) == {'paid 12 EUR'}
    await admin.should_see('region: us-east')


async def test_choosing_a_level_puts_it_in_the_url(seeded, admin: User):
    await admin.open('/events')
    admin.find(marker='filter-level').click()
    admin.find('fatal').click()
    await until(lambda: admin.back_history[-1] == '/events?level=fatal&range=24h')
    assert messages(admin) == {'database gone'}


async def test_search_box_uses_the_full_text_index_and_search_tokens(seeded, admin: User):
    await admin.open('/events')
    admin.find(marker='search').type('checkout').trigger('keydown.enter')
    await until(lambda: admin.back_history[-1].startswith('/events?q=checkout'))
    assert messages(admin) == {'slow checkout'}
    await admin.open('/events')
    admin.find(marker='search').type('type:payment.success').trigger('keydown.enter')
    await until(lambda: admin.back_history[-1].startswith('/events?type=payment.success'))
    assert messages(admin) == {'paid 12 EUR'}


async def test_a_search_with_no_results_offers_to_widen_the_range_or_clear_filters(seeded, admin: User):
    await admin.open('/events?q=nothing-like-this&range=1h')
    await admin.should_see('Nothing matches in this range.')
    admin.find('Search the last 30 days').click()
    await until(lambda: admin.back_history[-1] == '/events?q=nothing-like-this&range=30d')
    await admin.should_see('Nothing matches in this range.')
    admin.find('Clear filters').click()
    await until(lambda: 'q=' not in admin.back_history[-1])


async def test_exclusions_typed_in_the_search_box_live_in_the_url_and_the_box(seeded, admin: User):
    await admin.open('/events')
    admin.find(marker='search').type('-level:info -env:staging').trigger('keydown.enter')
    await until(lambda: 'not=' in admin.back_history[-1])
    assert messages(admin) == {'division by zero', 'database gone'}
    search = admin.find(marker='search').elements.pop()
    assert search.value == '-level:info -environment:staging'


async def test_tag_facets_show_top_values_and_clicking_one_filters(seeded, admin: User):
    await admin.open('/events')
    await admin.should_see('region')
    await admin.should_see('eu-west')
    hrefs = [link.props['href'] for link in admin.find(marker='facet-value').elements]
    target = next(h for h in hrefs if 'us-east' in h)
    assert target == '/events?tag=region%3Aus-east&range=24h'
    await admin.open(target)
    await admin.should_see('region: us-east')
    assert messages(admin) == {'paid 12 EUR'}


async def test_pages_are_loaded_from_the_server(seeded, admin: User):
    in_db(update_preferences, 1, page_size=25)
    store_events(seeded['shop'], [{'type': 'log', 'level': 'info', 'message': f'bulk {i}'} for i in range(30)])
    await admin.open('/events')
    assert len(table_rows(admin)) == 25
    admin.find('Older').click()
    await admin.should_see('Newest', retries=50)
    assert len(table_rows(admin)) == 34 - 25


async def test_new_matching_events_appear_without_reload(seeded, admin: User):
    await admin.open('/events?level=error')
    store_events(seeded['shop'], [error_body('fresh failure'), {'type': 'log', 'level': 'info', 'message': 'noise'}])
    await until(lambda: 'fresh failure' in messages(admin))
    assert 'noise' not in messages(admin)


async def test_paused_view_does_not_change(seeded, admin: User):
    await admin.open('/events')
    admin.find(marker='live-switch').click()
    store_events(seeded['shop'], [error_body('while paused')])
    await asyncio.sleep(1.5)  # longer than the refresh interval
    assert 'while paused' not in messages(admin)


async def test_event_detail_shows_fields_tags_stacktrace_and_issue_links(seeded, admin: User):
    event_id = seeded['event_ids'][0]
    await admin.open(f'/events/{event_id}')
    await admin.should_see('division by zero')
    await admin.should_see('ZeroDivisionError')
    await admin.should_see('production')
    await admin.should_see('shop@2.4.1')
    await admin.should_see('region: eu-west')
    await admin.should_see('app/billing.py:40 in ratio')
    await admin.should_see('lib/http.py:88 in dispatch')
    await admin.should_see('Open issue')
    source = [h for h in admin.find(ui.html).elements if 'return' in h.content]
    assert source and 'hll' in source[0].content  # the failing line is marked
    await admin.should_see('Copy region:eu-west')  # each tag chip has a menu: filter by, exclude, copy


async def test_a_tag_chip_filters_by_or_excludes_its_tag(seeded, admin: User):
    event_id, project = seeded['event_ids'][0], seeded['shop']
    for action, param in (('filter-by', 'tag'), ('exclude', 'not')):
        await admin.open(f'/events/{event_id}')
        admin.find(marker=f'tag-{action}-region').click()
        url = f'/events?project={project}&{param}=region%3Aeu-west&range=30d'
        await until(lambda url=url: admin.back_history[-1] == url)
    assert messages(admin) == {'paid 12 EUR', 'slow checkout'}  # all but the event tagged eu-west


async def test_unknown_event_says_so(admin: User):
    await admin.open('/events/00000000-0000-0000-0000-000000000000')
    await admin.should_see('Event not found')


async def test_a_burst_of_ingest_is_coalesced_into_few_refreshes(seeded, admin: User):
    await admin.open('/events?range=1h')
    feed = admin.find(marker='live-feed').elements.pop().feed
    started = time.monotonic()
    for i in range(100):  # 100 commits of 10 events, the event loop free in between (as under real ingest)
        bodies = [{'type': 'log', 'level': 'info', 'message': f'burst {i}'}] * 10
        events = [prepare_event({'id': str(uuid.uuid4()), **b}, datetime.now(UTC)) for b in bodies]
        await services().writer.write(seeded['shop'], events)
    await until(lambda: 'burst 99' in messages(admin))
    elapsed = time.monotonic() - started
    assert feed.refresh_count <= elapsed / 1.0 + 2  # at most one refresh per second, not one per commit


async def test_custom_date_range_comes_from_the_url(seeded, admin: User):
    await admin.open('/events?range=custom&start=2020-01-01&end=2020-01-31')
    assert messages(admin) == set()
    await admin.should_see('0 events in this range')


async def test_event_detail_shows_the_exception_chain(seeded, admin: User):
    body = error_body('outer failure')
    body['exception']['chain'] = [{'type': 'KeyError', 'value': "'total'"}]
    (event_id,) = store_events(seeded['shop'], [body])
    await admin.open(f'/events/{event_id}')
    await admin.should_see(marker='exception-cause')
    await admin.should_see("'total'")
