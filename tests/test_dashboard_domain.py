"""Domain code behind the dashboard: rollup-backed counts, facets, search parsing, filters in URLs,
issue status changes, user management, demo data."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pulsekit.auth import create_user
from pulsekit.errors import Conflict, PermissionDenied
from pulsekit.events.browse import event_page, issue_overview
from pulsekit.events.facets import parse_search, tag_facets
from pulsekit.events.filters import event_matches, filter_from_params, params_from_filter
from pulsekit.events.ingest import prepare_event
from pulsekit.events.issues import set_issue_status
from pulsekit.events.queries import EventFilter, list_events
from pulsekit.events.stats import events_over_time, home_summary, level_counts, resolve_range, top_issues
from pulsekit.models import Event, Issue, to_millis
from pulsekit.projects import create_project
from pulsekit.services import start_services
from pulsekit.users import create_first_admin, remove_user, update_preferences

from .server import pulsekit_cli

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


@pytest.fixture
def svc(settings):
    services = start_services(settings)
    with services.db.connection_context():
        yield services
    services.close()


def write(svc, project_id, bodies):
    events = [prepare_event({'id': str(uuid.uuid4()), **b}, NOW) for b in bodies]
    return svc.writer.write_sync(project_id, events, timeout_s=10)


def spread(n, start, step_minutes, **extra):
    return [
        {'type': 'log', 'level': ('info', 'error', 'warning')[i % 3], 'message': f'm{i}',
         'timestamp': (start + timedelta(minutes=i * step_minutes)).isoformat(), **extra}
        for i in range(n)
    ]  # fmt: skip


def raw_count(project_ids, since, until):
    query = Event.select().where(Event.timestamp >= to_millis(since), Event.timestamp < to_millis(until))
    if project_ids:
        query = query.where(Event.project.in_(project_ids))
    return query.count()


def test_rollup_counts_equal_raw_counts_for_ranges_not_on_hour_boundaries(svc):
    shop = create_project('Shop')
    api = create_project('API')
    write(svc, shop.id, spread(120, NOW - timedelta(hours=30), 13))
    write(svc, api.id, spread(50, NOW - timedelta(hours=10), 7))
    for since, until in [
        (NOW - timedelta(hours=24, minutes=17), NOW),
        (NOW - timedelta(minutes=40), NOW - timedelta(minutes=5)),
        (NOW - timedelta(days=3), NOW + timedelta(minutes=3)),
    ]:
        for projects in (None, [shop.id], [api.id]):
            counts = level_counts(projects, to_millis(since), to_millis(until))
            assert sum(counts.values()) == raw_count(projects, since, until)


def test_chart_buckets_add_up_and_follow_the_range(svc):
    shop = create_project('Shop')
    write(svc, shop.id, spread(60, NOW - timedelta(hours=20), 19))
    day = events_over_time(None, to_millis(NOW - timedelta(hours=24)), to_millis(NOW))
    assert day['bucket_ms'] == 3_600_000
    assert sum(sum(v) for v in day['series'].values()) == raw_count(None, NOW - timedelta(hours=25), NOW)
    hour = events_over_time(None, to_millis(NOW - timedelta(hours=1)), to_millis(NOW))
    assert hour['bucket_ms'] == 60_000
    assert sum(sum(v) for v in hour['series'].values()) == raw_count(None, NOW - timedelta(hours=1), NOW)


def test_home_summary_counts_new_issues_and_errors(svc):
    shop = create_project('Shop')
    write(svc, shop.id, [{'type': 'error', 'level': 'error', 'message': 'boom', 'timestamp': NOW.isoformat()}])
    summary = home_summary(None, resolve_range('24h', now=NOW + timedelta(minutes=1)))
    assert (summary['events'], summary['errors'], summary['new_issues']) == (1, 1, 1)
    assert summary['top_issues'][0]['title'] == 'boom'


def test_top_issues_rank_by_their_events_in_the_range(svc):
    shop = create_project('Shop')

    def errors(kind, n, at):
        return [{'exception': {'type': kind}, 'timestamp': (at - timedelta(minutes=i)).isoformat()} for i in range(n)]

    old = NOW - timedelta(days=3)
    write(svc, shop.id, errors('OldButBig', 10, old) + errors('OldButBig', 1, NOW) + errors('NewAndBusy', 3, NOW))
    day = home_summary(None, resolve_range('24h', now=NOW + timedelta(minutes=1)))['top_issues']
    ranked = [(i['title'], i['range_count'], i['event_count']) for i in day]
    assert ranked == [('NewAndBusy', 3, 3), ('OldButBig', 1, 11)]
    month = home_summary(None, resolve_range('30d', now=NOW + timedelta(minutes=1)))['top_issues']
    assert [(i['title'], i['range_count']) for i in month] == [('OldButBig', 11), ('NewAndBusy', 3)]
    # A range that is not on hour boundaries counts its edges from the events themselves.
    since, until = to_millis(NOW - timedelta(minutes=1, seconds=30)), to_millis(NOW + timedelta(seconds=1))
    assert [(i['title'], i['range_count']) for i in top_issues(None, since, until)] == [
        ('NewAndBusy', 2),
        ('OldButBig', 1),
    ]


def test_tag_facets_exact_from_rollup_and_sampled_with_other_filters(svc):
    shop = create_project('Shop')
    bodies = spread(30, NOW - timedelta(hours=5), 9)
    for i, body in enumerate(bodies):
        body['tags'] = {'region': 'eu' if i % 3 else 'us', 'browser': 'firefox'}
    write(svc, shop.id, bodies)
    f = EventFilter(since=NOW - timedelta(hours=6, minutes=7), until=NOW + timedelta(minutes=1))
    exact = tag_facets(f)
    assert not exact.is_sampled
    assert dict(exact.keys['region']) == {'eu': 20, 'us': 10}
    assert dict(exact.keys['browser']) == {'firefox': 30}
    errors = tag_facets(EventFilter(levels=['error'], since=f.since, until=f.until))
    assert errors.is_sampled
    assert sum(n for _, n in errors.keys['browser']) == 10


def test_search_box_tokens_become_filters():
    parsed = parse_search('type:user.signup level:error region:eu-west env:prod timeout  slow')
    assert parsed.type == 'user.signup'
    assert parsed.levels == ['error']
    assert parsed.tags == [('region', 'eu-west')]
    assert parsed.environment == 'prod'
    assert parsed.text == 'timeout slow'


def test_filters_round_trip_through_the_query_string():
    params = {'level': ['error,fatal'], 'tag': ['region:eu', 'plan:pro'], 'q': ['boom'], 'project': ['3'],
              'type': ['error'], 'range': ['7d']}  # fmt: skip
    f, time_range = filter_from_params(params, now=NOW)
    assert f.levels == ['error', 'fatal'] and f.tags == [('region', 'eu'), ('plan', 'pro')] and f.project_ids == [3]
    pairs = params_from_filter(f, time_range, {'range': '7d'})
    again, _ = filter_from_params({k: [v for kk, v in pairs if kk == k] for k, _ in pairs}, now=NOW)
    assert again == f


def test_live_matching_follows_the_filter():
    f = EventFilter(project_ids=[1], levels=['error'], tags=[('region', 'eu')])
    event = {'project_id': 1, 'level': 'error', 'type': 'error', 'tags': {'region': 'eu'}, 'timestamp': 1}
    assert event_matches(f, event)
    assert not event_matches(f, {**event, 'project_id': 2})
    assert not event_matches(f, {**event, 'tags': {'region': 'us'}})


def test_resolving_then_recurring_marks_a_regression(svc):
    shop = create_project('Shop')
    write(svc, shop.id, [{'type': 'error', 'level': 'error', 'message': 'boom'}])
    issue = Issue.get()
    assert set_issue_status([issue.id], 'resolve', now=NOW) == 1
    write(svc, shop.id, [{'type': 'error', 'level': 'error', 'message': 'boom'}])
    issue = Issue.get()
    assert (issue.status, issue.is_regression) == ('open', True)
    set_issue_status([issue.id], 'ignore')
    assert Issue.get().status == 'ignored'


def test_first_admin_only_once_and_the_last_admin_stays(svc):
    admin = create_first_admin('boss@example.com', 'long enough password')
    with pytest.raises(Conflict):
        create_first_admin('other@example.com', 'long enough password')
    member = create_user('m@example.com', 'long enough password')
    with pytest.raises(PermissionDenied):
        remove_user(admin.id, admin.id)
    with pytest.raises(PermissionDenied):
        remove_user(admin.id, member.id)
    remove_user(member.id, admin.id)


def test_preferences_are_validated(svc):
    user = create_user('a@example.com', 'long enough password')
    assert update_preferences(user.id, timezone='Asia/Tokyo')['timezone'] == 'Asia/Tokyo'
    with pytest.raises(Exception, match='time zone'):
        update_preferences(user.id, timezone='Mars/Olympus')


def test_demo_command_fills_a_fresh_instance(tmp_path):
    result = pulsekit_cli(tmp_path / 'demo', 'demo', '--events', '400', '--json')
    summary = json.loads(result.stdout)
    assert summary['events'] == 400
    assert summary['projects'] == ['Web Shop', 'Mobile API', 'Billing Worker']
    assert summary['issues'] >= 5
    assert summary['key'].startswith('pk_')


def test_full_text_search_combines_with_filters_and_pages(svc):
    shop = create_project('Shop')
    bodies = [
        {'type': 'log', 'level': 'error' if i % 4 == 0 else 'info', 'message': f'timeout number {i}',
         'timestamp': (NOW - timedelta(minutes=i)).isoformat()}
        for i in range(40)
    ] + [{'type': 'log', 'level': 'error', 'message': 'something else'}]  # fmt: skip
    write(svc, shop.id, bodies)
    f = EventFilter(q='timeout', levels=['error'], since=NOW - timedelta(days=1))
    first, cursor = list_events(f, 6)
    second, _ = list_events(f, 6, cursor)
    assert [e['message'] for e in first + second] == [f'timeout number {i}' for i in range(0, 40, 4)]


def test_dashboard_lists_carry_what_they_show_and_the_issue_page_its_latest_event_in_full(svc):
    shop = create_project('Shop')
    frames = [{'filename': 'app.py', 'function': 'pay', 'lineno': 12}]
    bodies = [
        {'exception': {'type': 'KeyError', 'value': "'cart'"}, 'stacktrace': {'frames': frames},
         'tags': {'region': 'eu'}, 'environment': 'prod', 'release': '1.2', 'fingerprint': ['cart'],
         'timestamp': NOW.isoformat()},
        {'exception': {'type': 'KeyError'}, 'fingerprint': ['cart'],
         'timestamp': (NOW - timedelta(minutes=1)).isoformat()},
        {'type': 'log', 'level': 'info', 'message': 'hello', 'timestamp': (NOW - timedelta(minutes=2)).isoformat()},
    ]  # fmt: skip
    write(svc, shop.id, bodies)
    f = EventFilter(since=NOW - timedelta(hours=1))
    page = event_page(f, 2, now=NOW)
    full, cursor = list_events(f, 2)
    assert page['next_cursor'] == cursor and page['total'] == 3
    listed = ['id', 'project_id', 'issue_id', 'type', 'level', 'message', 'environment', 'release', 'timestamp']
    assert [{k: e[k] for k in listed} for e in page['events']] == [{k: e[k] for k in listed} for e in full]
    assert [e['exception'] for e in page['events']] == [{'type': 'KeyError', 'value': "'cart'"}, {'type': 'KeyError'}]
    older = event_page(f, 2, page['next_cursor'], now=NOW)['events']
    assert [(e['message'], e['exception']) for e in older] == [('hello', None)]

    overview = issue_overview(page['events'][0]['issue_id'], now=NOW)
    assert [e['id'] for e in overview['events']] == [e['id'] for e in full]
    assert overview['latest'] == full[0]  # the newest event in full, for the stack trace at the page's top
    assert overview['latest']['tags'] == {'region': 'eu'} and '"function": "pay"' in json.dumps(overview['latest'])
