"""The /alerts page: rules created and edited in forms with inline validation, live status, logs, test webhook."""

from datetime import UTC, datetime, timedelta

from nicegui.testing import User

from pulsekit.alerts.evaluate import grid_end
from pulsekit.alerts.rules import create_rule, list_rules
from pulsekit.instance_settings import get_setting, set_setting
from pulsekit.models import AlertRule

from .alert_support import Receiver
from .dashboard import error_body, in_db, services, store_events, until


async def settled() -> None:
    """Let the alert engine finish evaluating the seeded events, so new rules only see what comes after."""
    await until(lambda: services().extras['alerts'].is_idle)


def rule_named(name: str) -> AlertRule | None:
    return in_db(lambda: AlertRule.get_or_none(AlertRule.name == name))


async def test_empty_page_says_what_to_do_and_shows_rules_added_elsewhere(seeded, admin: User):
    await admin.open('/alerts')
    await admin.should_see('No alert rules yet')
    body = {'name': 'Made by the API', 'rule_type': 'new_error', 'webhook_url': 'https://hooks.example.com/x'}
    in_db(create_rule, seeded['shop'], body, allow_private=False)
    await admin.should_see('Made by the API', retries=100)  # the page notices within a refresh


async def test_members_cannot_manage_alerts(member: User):
    await member.open('/alerts')
    await member.should_see('Admins only')


async def test_admin_creates_a_pattern_rule_in_the_form(seeded, admin: User):
    await admin.open('/alerts')
    admin.find(marker='new-rule').click()
    admin.find(marker='rule-project').elements.pop().value = seeded['shop']
    admin.find(marker='rule-name').type('Payment failures')
    admin.find(marker='rule-type').elements.pop().value = 'pattern'
    admin.find(marker='rule-pattern').type('(?i)payment (failed|declined)')
    admin.find(marker='rule-url').type('https://hooks.example.com/pulsekit')
    admin.find(marker='rule-save').click()
    await until(lambda: rule_named('Payment failures') is not None)
    rule = rule_named('Payment failures')
    assert rule.condition_type == 'pattern' and rule.project_id == seeded['shop']
    assert rule.condition_config == {'pattern': '(?i)payment (failed|declined)', 'type_pattern': None}
    await admin.should_see('Payment failures')
    await admin.should_see('never fired')


async def test_an_invalid_pattern_is_shown_on_its_field_and_nothing_is_saved(seeded, admin: User):
    await admin.open('/alerts')
    admin.find(marker='new-rule').click()
    admin.find(marker='rule-name').type('Bad pattern')
    admin.find(marker='rule-type').elements.pop().value = 'pattern'
    admin.find(marker='rule-pattern').type('(?=lookahead)')
    admin.find(marker='rule-url').type('https://hooks.example.com/x')
    admin.find(marker='rule-save').click()
    pattern = admin.find(marker='rule-pattern').elements.pop()
    await until(lambda: pattern.error is not None)
    assert 'not a valid RE2 regular expression' in pattern.error
    assert in_db(list_rules) == []


async def test_a_private_webhook_target_is_refused_until_allowed(seeded, admin: User):
    await admin.open('/alerts')
    admin.find(marker='new-rule').click()
    admin.find(marker='rule-name').type('Internal')
    admin.find(marker='rule-url').type('http://10.0.0.7/hook')
    admin.find(marker='rule-save').click()
    url = admin.find(marker='rule-url').elements.pop()
    await until(lambda: url.error is not None)
    assert 'private' in url.error and rule_named('Internal') is None
    admin.find(marker='allow-private').click()  # an admin allows private targets on the page
    await until(lambda: in_db(get_setting, 'allow_private_webhook_targets') is True)
    admin.find(marker='rule-save').click()
    await until(lambda: rule_named('Internal') is not None)


async def test_test_webhook_is_sent_and_its_attempt_logged_live(seeded, admin: User):
    receiver = Receiver()
    try:
        await settled()
        in_db(set_setting, 'allow_private_webhook_targets', True)
        body = {'name': 'Ops hook', 'rule_type': 'new_error', 'webhook_url': receiver.url}
        rule = in_db(create_rule, seeded['shop'], body, allow_private=True)
        await admin.open(f'/alerts?rule={rule.id}')
        await admin.should_see('Delivery log')
        admin.find(marker='send-test').click()
        await receiver.wait_for(1)
        assert receiver.requests[0].json()['test'] is True
        table = admin.find(marker='delivery-table').elements.pop()
        await until(lambda: any(r['status_code'] == 200 for r in table.rows), timeout_s=8)
        [row] = table.rows
        assert row['response'] == 'ok' and row['state'] == 'delivered' and row['is_test'] is True
        firing_table = admin.find(marker='firing-table').elements.pop()
        assert firing_table.rows[0]['is_test'] is True
    finally:
        receiver.close()


async def test_status_turns_to_webhook_failing_live(seeded, admin: User):
    receiver = Receiver(script=[(500, {}, b'nope')] * 10)
    try:
        await settled()
        in_db(set_setting, 'allow_private_webhook_targets', True)
        body = {'name': 'Flaky hook', 'rule_type': 'new_error', 'webhook_url': receiver.url}
        rule = in_db(create_rule, seeded['shop'], body, allow_private=True)
        await admin.open('/alerts')

        def status() -> str:
            return admin.find(marker=f'status-{rule.id}').elements.pop().text

        assert status() == 'OK'
        admin.find(marker=f'test-{rule.id}').click()
        await until(lambda: status() == 'Webhook failing', timeout_s=8)
    finally:
        receiver.close()


async def test_admin_disables_edits_and_deletes_a_rule(seeded, admin: User):
    body = {'name': 'Spikes', 'rule_type': 'threshold', 'config': {'threshold': 10}, 'webhook_url': 'https://x.test/'}
    rule = in_db(create_rule, seeded['shop'], body, allow_private=False)
    await admin.open('/alerts')
    admin.find(marker=f'enabled-{rule.id}').click()
    await until(lambda: rule_named('Spikes').enabled is False)
    admin.find(marker=f'edit-{rule.id}').click()
    admin.find(marker='rule-threshold').elements.pop().value = 25
    admin.find(marker='rule-name').clear().type('Big spikes')
    admin.find(marker='rule-save').click()
    await until(lambda: rule_named('Big spikes') is not None)
    assert rule_named('Big spikes').condition_config['threshold'] == 25
    await admin.should_see('more than 25 events in 5 min')
    admin.find(marker=f'delete-{rule.id}').click()
    admin.find(marker='confirm-delete').click()
    await until(lambda: in_db(list_rules) == [])
    await admin.should_see('No alert rules yet')


async def test_preview_shows_how_often_the_rule_would_have_fired(seeded, admin: User):
    await admin.open('/alerts')
    admin.find(marker='new-rule').click()
    admin.find(marker='rule-project').elements.pop().value = seeded['shop']
    admin.find(marker='rule-type').elements.pop().value = 'pattern'
    admin.find(marker='rule-pattern').type('slow checkout')
    admin.find(marker='rule-cooldown').elements.pop().value = 0
    admin.find('Preview last 24 h').click()
    label = admin.find(marker='rule-preview').elements.pop()
    await until(lambda: 'once' in label.text)
    assert label.text == 'Would have fired once in the last 24 h.'


async def test_firing_history_shows_statuses_readable_windows_and_the_first_event(seeded, admin: User):
    receiver = Receiver()
    try:
        await settled()
        in_db(set_setting, 'allow_private_webhook_targets', True)
        config = {'threshold': 1, 'window_s': 60, 'level': ['error']}
        body = {'name': 'Spike', 'rule_type': 'threshold', 'config': config, 'webhook_url': receiver.url}
        rule = in_db(create_rule, seeded['shop'], body, allow_private=True)
        now = grid_end(datetime.now(UTC), 10)
        stamp = (now - timedelta(seconds=5)).isoformat()
        first_id, *_ = store_events(
            seeded['shop'], [error_body(f'card declined {i}', timestamp=stamp) for i in range(3)]
        )
        engine = services().extras['alerts']
        assert await engine.run_thresholds(now) == 1
        assert await engine.run_thresholds(now + timedelta(seconds=70)) == 1  # the window emptied: resolved
        await admin.open(f'/alerts?rule={rule.id}')
        await admin.should_see('Firing history')
        table = admin.find(marker='firing-table').elements.pop()
        await until(lambda: len(table.rows) == 2)
        resolved, fired = table.rows
        assert (resolved['status'], fired['status']) == ('resolved', 'firing')
        assert fired['event_count'] == '3' and fired['first_message'] == 'card declined 0'
        assert fired['first_href'] == f'/events/{first_id}'
        assert fired['window'].endswith('(1m)') and 'threshold:' not in fired['window']
    finally:
        receiver.close()
