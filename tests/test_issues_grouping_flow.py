"""Grouping as users see it: issues counted, levels kept, regressions flagged."""

import orjson

from pulsekit.models import Issue


async def send(api, events):
    response = await api.client.post(
        '/api/v1/events/batch', content=orjson.dumps({'events': events}), headers=api.headers()
    )
    assert response.status_code == 202, response.text


def issues(api) -> list[Issue]:
    with api.services.db.connection_context():
        return list(Issue.select().order_by(Issue.id))


FRAME = {'module': 'shop.cart', 'function': 'total', 'lineno': 3, 'in_app': True}
ERROR = {'exception': {'type': 'KeyError', 'value': "'total'"}, 'stacktrace': {'frames': [FRAME]}}


async def test_same_error_groups_into_one_issue_and_custom_events_into_none(api):
    await send(api, [ERROR, ERROR, {'type': 'payment.success', 'level': 'info'}])
    await send(api, [{**ERROR, 'timestamp': '2026-11-01T00:00:00Z'}])
    [issue] = issues(api)
    assert issue.event_count == 3
    assert issue.culprit == 'shop.cart in total'
    assert issue.first_seen.isoformat().startswith('2026-11-01')


async def test_resolved_issue_that_recurs_reopens_as_a_regression(api):
    await send(api, [ERROR])
    [issue] = issues(api)
    with api.services.db.connection_context():
        Issue.update(status='resolved').where(Issue.id == issue.id).execute()
    await send(api, [ERROR])
    [issue] = issues(api)
    assert issue.status == 'open' and issue.is_regression and issue.event_count == 2


async def test_ignored_issue_stays_ignored_but_counts(api):
    await send(api, [ERROR])
    with api.services.db.connection_context():
        Issue.update(status='ignored').execute()
    await send(api, [ERROR])
    [issue] = issues(api)
    assert issue.status == 'ignored' and issue.event_count == 2


async def test_issue_level_rises_to_the_most_severe_event(api):
    await send(api, [{**ERROR, 'level': 'error'}])
    await send(api, [{**ERROR, 'level': 'fatal'}, {**ERROR, 'level': 'warning'}])
    [issue] = issues(api)
    assert issue.level == 'fatal'


async def test_commit_is_announced_on_the_bus_with_new_issues(api):
    messages = []
    api.services.bus.subscribe(messages.append)
    await send(api, [ERROR, {'message': 'hello'}])
    [summary] = messages
    assert len(summary.events) == 2 and len(summary.new_issue_ids) == 1
