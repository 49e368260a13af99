"""Alert flows through the real writer, bus, evaluator and dispatcher, with a real HTTP receiver on 127.0.0.1."""

import asyncio
import time
from datetime import timedelta

import pytest

from pulsekit.alerts import catchup, signing, status
from pulsekit.alerts.engine import AlertEngine
from pulsekit.alerts.evaluate import grid_end
from pulsekit.alerts.rules import create_rule, get_rule, update_rule
from pulsekit.errors import InvalidField
from pulsekit.models import AlertFiring, Issue, WebhookDelivery, now_utc

from .alert_support import Receiver, alert_instance, wait_until
from .databases import settings_for

FAST_RETRIES = (0.05, 0.05, 0.05, 0.05)


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path / 'data', webhook_retry_delays_s=FAST_RETRIES)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def error(message='division by zero', **extra):
    return {'type': 'error', 'level': 'error', 'message': message, 'exception': {'type': 'ZeroDivisionError'}, **extra}


def new_rule(harness, rule_type, config, url, *, cooldown_s=0, allow_private=True, **extra):
    data = {'name': f'{rule_type} rule', 'rule_type': rule_type, 'config': config, 'webhook_url': url, **extra}
    data['cooldown_s'] = cooldown_s
    return create_rule(harness.project.id, data, allow_private=allow_private)


def firings(rule_id):
    return list(AlertFiring.select().where(AlertFiring.rule == rule_id).order_by(AlertFiring.id))


def deliveries(rule_id):
    return list(WebhookDelivery.select().join(AlertFiring).where(AlertFiring.rule == rule_id))


async def test_webhook_is_signed_with_the_rules_secret_and_carries_the_payload(settings, receiver):
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        [event_id] = await h.ingest(error())
        [request] = await receiver.wait_for(1)
        signing.verify(rule.webhook_secret, request.headers, request.body, now_s=time.time())
        body = request.json()
        assert body['alert']['id'] == rule.id and body['alert']['rule_type'] == 'new_error'
        assert body['project'] == {'id': h.project.id, 'name': 'Shop'}
        assert [e['id'] for e in body['events']] == [event_id]
        assert body['events'][0]['message'] == 'division by zero' and body['context']['event_count'] == 1
        assert body['url'].endswith(f'/alerts?rule={rule.id}')
        [delivery] = await wait_until(lambda: [d for d in deliveries(rule.id) if d.status == 'delivered'])
        assert request.headers['webhook-id'] == delivery.message_id


async def test_a_receiver_failing_twice_gets_one_successful_delivery_after_three_logged_attempts(settings, receiver):
    receiver.script = [(500, {}, b'boom'), (502, {}, b'bad gateway')]
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        await h.ingest(error())
        for _ in range(20):  # the test drives the dispatcher's ticks itself (bounded)
            if len(receiver.requests) >= 3:
                break
            await asyncio.sleep(0.06)
            await h.engine.dispatcher.run_due()
        [delivery] = await wait_until(lambda: [d for d in deliveries(rule.id) if d.status == 'delivered'])
        assert [r.headers['webhook-id'] for r in receiver.requests] == [delivery.message_id] * 3
        assert delivery.attempts == 3
        assert [a['status_code'] for a in delivery.attempt_log] == [500, 502, 200]
        assert [a['response_snippet'] for a in delivery.attempt_log] == ['boom', 'bad gateway', 'ok']
        assert all(a['latency_ms'] is not None and a['at'] for a in delivery.attempt_log)
        await asyncio.sleep(0.2)
        await h.engine.dispatcher.run_due()
        assert len(receiver.requests) == 3  # delivered once, never again


async def test_retry_after_pushes_the_next_attempt_back(settings, receiver):
    receiver.script = [(503, {'Retry-After': '120'}, b'busy')]
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        await h.ingest(error())
        [delivery] = await wait_until(lambda: [d for d in deliveries(rule.id) if d.attempts == 1])
        assert delivery.status == 'pending'
        assert delivery.next_attempt_at - now_utc() > timedelta(seconds=100)


async def test_a_410_disables_the_rules_webhook(settings, receiver):
    receiver.script = [(410, {}, b'gone')]
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        await h.ingest(error('first'))
        await wait_until(lambda: get_rule(rule.id).is_webhook_disabled)
        await h.ingest(error('second', exception={'type': 'KeyError'}))
        await asyncio.sleep(0.3)
        await h.engine.dispatcher.run_due()
        assert len(receiver.requests) == 1
        [delivery] = await h.run(deliveries, rule.id)
        assert delivery.status == 'failed' and delivery.last_status_code == 410


async def test_redirects_are_not_followed(settings, receiver):
    receiver.script = [(302, {'Location': 'http://127.0.0.1:9/elsewhere'}, b'')]
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        await h.ingest(error())
        [delivery] = await wait_until(lambda: [d for d in deliveries(rule.id) if d.attempts == 1])
        assert delivery.status == 'pending' and 'not followed' in delivery.last_error
        assert len(receiver.requests) == 1


async def test_new_error_fires_once_per_issue(settings, receiver):
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        await h.ingest(error('boom'))
        await h.ingest(error('boom'), error('boom'))  # the same issue again
        await h.ingest(error('other', exception={'type': 'KeyError'}))  # a second issue
        fired = await wait_until(lambda: len(firings(rule.id)) >= 2 and firings(rule.id))
        await asyncio.sleep(0.2)
        assert len(await h.run(firings, rule.id)) == 2
        assert {f.window_key for f in fired} == {f'issue:{i.id}' for i in await h.run(lambda: list(Issue.select()))}


async def test_a_rule_created_while_errors_flow_fires_on_the_next_one(settings, receiver):
    async with alert_instance(settings) as h:
        await h.ingest(error('before any rule'))
        await wait_until(lambda: h.engine.is_idle)  # evaluated: the engine has seen no project with event rules
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        await h.ingest(error('after', exception={'type': 'KeyError'}))
        # Well within how long the engine may trust "no rules here" without a rule write (10 s).
        assert await wait_until(lambda: firings(rule.id), timeout_s=3)


@pytest.mark.parametrize('include_regressions', [True, False])
async def test_new_error_fires_on_regression_only_when_enabled(settings, receiver, include_regressions):
    async with alert_instance(settings) as h:
        config = {'include_regressions': include_regressions}
        rule = await h.run(new_rule, h, 'new_error', config, receiver.url)
        await h.ingest(error('boom'))
        await wait_until(lambda: firings(rule.id))
        await h.write(lambda: Issue.update(status='resolved', resolved_at=now_utc()).execute())
        await h.ingest(error('boom'))  # the resolved issue comes back
        await h.ingest(error('boom'))  # and stays: no further firing
        await asyncio.sleep(0.3)
        keys = [f.window_key for f in await h.run(firings, rule.id)]
        assert len(keys) == (2 if include_regressions else 1)
        if include_regressions:
            assert keys[1].startswith('regression:')


def errors_at(stamp, count, message='e'):
    return [{'type': 'error', 'level': 'error', 'message': f'{message}{i}', 'timestamp': stamp} for i in range(count)]


async def test_a_threshold_spike_notifies_once_while_firing_and_once_when_it_resolves(settings, receiver):
    async with alert_instance(settings) as h:
        config = {'threshold': 5, 'window_s': 60, 'level': ['error']}
        rule = await h.run(new_rule, h, 'threshold', config, receiver.url, cooldown_s=0)
        now = grid_end(now_utc(), settings.alert_eval_interval_s)
        stamp = (now - timedelta(seconds=5)).timestamp()
        await h.ingest(*errors_at(stamp, 5))
        assert await h.engine.run_thresholds(now) == 0  # 5 is not more than 5
        await h.ingest(*errors_at(stamp, 2, 'late'))  # the 7-event spike of the report
        await h.ingest({'type': 'log', 'level': 'info', 'message': 'not counted', 'timestamp': stamp})
        # Checked every 10 s while the spike stays in the 60 s window: one notification, not six.
        fired = [await h.engine.run_thresholds(now + timedelta(seconds=s)) for s in range(0, 60, 10)]
        assert fired == [1, 0, 0, 0, 0, 0]
        assert await h.run(lambda: status.rule_statuses([get_rule(rule.id)])[rule.id]) == 'firing'
        assert await h.engine.run_thresholds(now + timedelta(seconds=70)) == 1  # fell back: resolved
        assert await h.engine.run_thresholds(now + timedelta(seconds=80)) == 0
        assert await h.run(lambda: status.rule_statuses([get_rule(rule.id)])[rule.id]) == 'ok'
        first, resolved = await h.run(firings, rule.id)
        assert first.payload['alert']['status'] == 'firing' and first.event_count == 7
        assert [e['message'] for e in first.payload['events']][:2] == ['e0', 'e1']  # oldest first
        assert first.payload['context']['time_window'] == '1m' and first.payload['context']['threshold'] == 5
        assert resolved.payload['alert']['status'] == 'resolved' and resolved.event_count == 0
        [request] = await receiver.wait_for(1)  # the resolved one is due at the test's future `now`
        assert request.json()['alert']['status'] == 'firing'


async def test_a_firing_threshold_rule_renotifies_when_asked(settings, receiver):
    async with alert_instance(settings) as h:
        config = {'threshold': 0, 'window_s': 300, 'renotify_s': 30}
        rule = await h.run(new_rule, h, 'threshold', config, receiver.url)
        now = grid_end(now_utc(), settings.alert_eval_interval_s)
        await h.ingest(error(timestamp=(now - timedelta(seconds=5)).timestamp()))
        fired = [await h.engine.run_thresholds(now + timedelta(seconds=s)) for s in range(0, 70, 10)]
        assert fired == [1, 0, 0, 1, 0, 0, 1]
        assert {f.payload['alert']['status'] for f in await h.run(firings, rule.id)} == {'firing'}


async def test_a_threshold_rules_state_survives_a_restart_and_pausing_resets_it(settings, receiver):
    now = grid_end(now_utc(), settings.alert_eval_interval_s)
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'threshold', {'threshold': 0, 'window_s': 60}, receiver.url)
        await h.ingest(error(timestamp=(now - timedelta(seconds=5)).timestamp()))
        assert await h.engine.run_thresholds(now) == 1
    async with alert_instance(settings) as h:  # the same database, a new process's engine
        assert await h.engine.run_thresholds(now + timedelta(seconds=10)) == 0  # still firing: quiet
        assert await h.run(lambda: status.count_firing_rules(None)) == 1
        await h.run(update_rule, rule.id, {'enabled': False}, allow_private=True)
        assert await h.run(lambda: status.count_firing_rules(None)) == 0
        await h.run(update_rule, rule.id, {'enabled': True}, allow_private=True)
        assert await h.engine.run_thresholds(now + timedelta(seconds=20)) == 1  # starts again from ok


async def test_threshold_window_dedupe_survives_a_restart(settings, receiver):
    now = now_utc()
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'threshold', {'threshold': 0, 'window_s': 60}, receiver.url)
        await h.ingest(error(timestamp=(now - timedelta(seconds=15)).timestamp()))
        assert await h.engine.run_thresholds(now) == 1
    async with alert_instance(settings) as h:  # the same database, a new process's engine
        assert await h.engine.run_thresholds(now) == 0  # the same grid point never fires twice
        assert len(await h.run(firings, rule.id)) == 1


async def test_pattern_rule_fires_per_cooldown_bucket(settings, receiver):
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'pattern', {'pattern': '(?i)payment declined'}, receiver.url, cooldown_s=600)
        await h.ingest({'type': 'log', 'level': 'info', 'message': 'all good'})
        await h.ingest({'type': 'log', 'level': 'warning', 'message': 'Payment declined for order 7'})
        await wait_until(lambda: firings(rule.id))
        await h.ingest({'type': 'log', 'level': 'warning', 'message': 'payment declined again'})  # a storm
        await asyncio.sleep(0.3)
        [firing] = await h.run(firings, rule.id)
        assert [e['message'] for e in firing.payload['events']] == ['Payment declined for order 7']


async def test_a_pathological_pattern_cannot_stall_ingestion(settings, receiver):
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'pattern', {'pattern': '(a+)+$'}, receiver.url)
        evil = {'type': 'log', 'level': 'info', 'message': 'a' * 8000 + 'b'}
        for _ in range(20):
            await h.ingest(evil, evil, evil)
        await h.ingest({'type': 'log', 'level': 'info', 'message': 'a' * 8000})  # matches
        fired = await wait_until(lambda: firings(rule.id))
        assert len(fired) == 1 and fired[0].event_count == 1
        assert len(fired[0].payload['events'][0]['message']) == 1000  # payload messages are capped


async def test_webhooks_to_private_addresses_are_refused_at_send_time(settings, receiver):
    async with alert_instance(settings, allow_private=False) as h:
        with pytest.raises(InvalidField):  # an IP literal is refused when saved
            await h.run(new_rule, h, 'new_error', {}, receiver.url, allow_private=False)
        # A name is checked when sending (it may resolve differently later): localhost → 127.0.0.1.
        url = receiver.url.replace('127.0.0.1', 'localhost')
        rule = await h.run(new_rule, h, 'new_error', {}, url, allow_private=False)
        await h.ingest(error())
        [delivery] = await wait_until(lambda: [d for d in deliveries(rule.id) if d.attempts >= 1])
        assert 'refused' in delivery.last_error and 'loopback' in delivery.last_error
        assert delivery.attempt_log[0]['status_code'] is None
        assert receiver.requests == []


async def test_events_committed_just_before_a_crash_are_evaluated_after_the_restart(settings, receiver):
    async with alert_instance(settings) as h:
        rule = await h.run(new_rule, h, 'new_error', {}, receiver.url)
        await h.engine.wait_caught_up()
        await h.engine.checkpoint()  # the first checkpoint stores the watermark
        assert await h.run(catchup.load_watermark) == 0
        await h.engine.stop()  # the process "dies": nothing evaluates what comes next
        await h.ingest(error('lost in the crash'))
        await asyncio.sleep(0.2)
        assert await h.run(firings, rule.id) == []
        restarted = AlertEngine(h.services)
        try:
            assert await restarted.catch_up() == 1
            assert await restarted.catch_up() == 0  # the watermark moved: nothing is fired twice
        finally:
            await restarted.stop()
        [firing] = await h.run(firings, rule.id)
        assert firing.window_key.startswith('issue:') and firing.payload['events'][0]['message'] == 'lost in the crash'
