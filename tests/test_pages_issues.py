"""Issues list and issue detail: grouping, sorting, resolve/ignore/reopen (one and bulk), regressions."""

from nicegui import ui
from nicegui.testing import User

from pulsekit.events.issues import set_issue_status
from pulsekit.models import Issue

from .dashboard import error_body, in_db, store_events, until


def rows(user: User) -> list[dict]:
    return user.find(marker='issues').elements.pop().rows


def issue_id(title: str) -> int:
    return in_db(lambda: Issue.get(Issue.title.contains(title)).id)


def status_of(title: str) -> str:
    return in_db(lambda: Issue.get(Issue.title.contains(title)).status)


async def test_issues_group_errors_with_count_and_sparkline(seeded, admin: User):
    store_events(seeded['shop'], [error_body()] * 2)
    await admin.open('/issues')
    by_title = {row['title']: row for row in rows(admin)}
    division = next(r for t, r in by_title.items() if 'division by zero' in t)
    assert division['event_count'] == '3'
    assert division['culprit']
    assert division['spark'].count(',') == 24  # one point per hour of the last 24 h
    assert any('database gone' in t for t in by_title)


async def test_issues_sort_by_count(seeded, admin: User):
    store_events(seeded['shop'], [error_body()] * 3)
    await admin.open('/issues?sort=event_count')
    assert 'division by zero' in rows(admin)[0]['title']
    await admin.open('/issues?sort=first_seen')
    assert 'database gone' in rows(admin)[0]['title']


async def test_resolve_from_the_issue_page_then_reopen(seeded, admin: User):
    target = issue_id('division by zero')
    await admin.open(f'/issues/{target}')
    await admin.should_see('Latest stacktrace')
    await admin.should_see('app/billing.py:40 in ratio')
    admin.find('Resolve').click()
    await until(lambda: status_of('division by zero') == 'resolved')
    await admin.open(f'/issues/{target}')
    admin.find('Reopen').click()
    await until(lambda: status_of('division by zero') == 'open')
    admin.find('Ignore').click()
    await until(lambda: status_of('division by zero') == 'ignored')


async def test_bulk_resolve_from_the_list(seeded, admin: User):
    await admin.open('/issues')
    all_rows = rows(admin)
    # What the browser sends when the "select all" checkbox is ticked:
    admin.find(marker='issues').trigger('selection', {'rows': all_rows, 'added': True, 'keys': []})
    await admin.should_see('2 selected')
    admin.find(marker='bulk-resolve').click()
    await until(lambda: status_of('division by zero') == 'resolved' and status_of('database gone') == 'resolved')
    await admin.open('/issues?status=resolved')
    assert len(rows(admin)) == 2


async def test_resolved_issue_that_recurs_is_marked_regressed(seeded, admin: User):
    in_db(set_issue_status, [issue_id('division by zero')], 'resolve')
    store_events(seeded['shop'], [error_body()])
    await admin.open('/issues')
    row = next(r for r in rows(admin) if 'division by zero' in r['title'])
    assert row['is_regression'] is True and row['status'] == 'open'


async def test_empty_issue_list_explains_grouping(admin: User):
    await admin.open('/issues')
    await admin.should_see('No open issues')


async def test_issue_page_lists_its_events(seeded, admin: User):
    await admin.open(f'/issues/{issue_id("division by zero")}')
    events = admin.find(marker='issue-events').elements.pop().rows
    assert [e['message'] for e in events] == ['division by zero']
    assert admin.find(ui.echart).elements
