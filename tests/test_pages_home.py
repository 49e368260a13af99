"""Home page: cards, chart, top issues and recent events for the selected range and project, live."""

from datetime import UTC, datetime, timedelta

from nicegui import ui
from nicegui.testing import User

from pulsekit.alerts.evaluate import grid_end
from pulsekit.alerts.rules import create_rule, update_rule
from pulsekit.instance_settings import set_setting
from pulsekit.models import AlertRule
from pulsekit.projects import create_project

from .alert_support import Receiver
from .dashboard import error_body, in_db, services, store_events


async def test_new_instance_home_says_to_create_a_project(admin: User):
    await admin.open('/')
    await admin.should_see('Welcome to PulseKit')
    await admin.should_see('Create a project →')


async def test_project_without_events_shows_how_to_send_the_first_one(admin: User):
    in_db(create_project, 'Shop')
    await admin.open('/')
    await admin.should_see('No events yet')
    code = admin.find(ui.code).elements.pop()
    assert '/api/v1/events' in code.content and 'X-PulseKit-Key' in code.content


async def test_home_counts_events_errors_and_new_issues(seeded, admin: User):
    await admin.open('/?range=24h')
    await admin.should_see(marker='kpi-events')
    kpis = {m: admin.find(marker=m).elements.pop() for m in ('kpi-events', 'kpi-errors', 'kpi-new-issues')}
    values = {m: [c.text for c in el.descendants() if isinstance(c, ui.label)][-1] for m, el in kpis.items()}
    assert values == {'kpi-events': '4', 'kpi-errors': '2', 'kpi-new-issues': '2'}
    await admin.should_see('division by zero')
    await admin.should_see('database gone')
    chart = admin.find(ui.echart).elements.pop()
    stacked = {s['name']: sum(s['data']) for s in chart.options['series']}
    assert stacked == {'debug': 0, 'info': 1, 'warning': 1, 'error': 1, 'fatal': 1}


async def test_project_switcher_narrows_the_home_page(seeded, admin: User):
    await admin.open('/')
    admin.find(marker='project-switcher').click()
    admin.find('Shop').click()
    # 'slow checkout' (Shop) was on the page before the switch too: wait for the other project's
    # event to leave, which is what the switch changes (the page re-renders asynchronously).
    await admin.should_see('slow checkout', retries=20)
    await admin.should_not_see('database gone', retries=60)


async def test_home_updates_live_when_events_arrive(seeded, admin: User):
    await admin.open('/?range=1h')
    await admin.should_not_see('brand new failure')
    store_events(seeded['shop'], [error_body('brand new failure')])
    await admin.should_see('brand new failure', retries=30)


async def test_firing_alerts_card_counts_rules_firing_now_not_notifications(seeded, admin: User):
    receiver = Receiver()
    try:
        in_db(set_setting, 'allow_private_webhook_targets', True)
        now = grid_end(datetime.now(UTC), 10)
        for name in ('Spike', 'Calm'):
            body = {'name': name, 'rule_type': 'threshold', 'config': {'threshold': 0, 'window_s': 60}}
            in_db(create_rule, seeded['shop'], {**body, 'webhook_url': receiver.url}, allow_private=True)
        store_events(seeded['shop'], [error_body('spike', timestamp=(now - timedelta(seconds=5)).isoformat())])
        engine = services().extras['alerts']
        assert await engine.run_thresholds(now) == 2
        calm = in_db(lambda: AlertRule.get(AlertRule.name == 'Calm'))
        in_db(update_rule, calm.id, {'config': {'threshold': 100, 'window_s': 60}}, allow_private=True)
        for seconds in (10, 20, 30):  # Spike stays firing (no new notification), Calm resolves
            await engine.run_thresholds(now + timedelta(seconds=seconds))
        await admin.open('/?range=24h')
        card = admin.find(marker='kpi-firing-alerts').elements.pop()
        assert [c.text for c in card.descendants() if isinstance(c, ui.label)][-1] == '1'
    finally:
        receiver.close()
