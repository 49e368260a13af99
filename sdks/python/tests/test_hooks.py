"""Automatic capture: a crashing script, a failing thread, a failed asyncio task, logging records."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from conftest import API_KEY

import pulsekit_sdk

CRASHING_SCRIPT = """
import logging, sys
import pulsekit_sdk

pulsekit_sdk.init(endpoint=sys.argv[1], api_key=sys.argv[2], release='script@1', log_level=logging.ERROR)

def load_invoice():
    raise LookupError('invoice 12 not found')

def main():
    try:
        load_invoice()
    except LookupError:
        logging.exception('loading failed')  # logged, then re-raised: must be sent once
        raise

main()
"""


def test_a_script_killed_by_an_uncaught_exception_still_delivers_it_once(server, tmp_path):
    script = tmp_path / 'crash.py'
    script.write_text(textwrap.dedent(CRASHING_SCRIPT), encoding='utf-8')

    result = subprocess.run(
        [sys.executable, str(script), server.url, API_KEY], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 1
    assert 'LookupError: invoice 12 not found' in result.stderr  # Python's own report still printed
    (event,) = server.events()
    assert event['exception']['type'] == 'LookupError'
    assert event['level'] == 'error'  # the logging handler got it first
    assert event['message'] == 'loading failed'
    assert event['release'] == 'script@1'
    assert [frame['function'] for frame in event['stacktrace']['frames']][-2:] == ['main', 'load_invoice']


def test_an_uncaught_exception_is_fatal_and_tagged_with_its_mechanism(server, tmp_path):
    script = tmp_path / 'crash.py'
    script.write_text(
        'import sys, pulsekit_sdk\n'
        'pulsekit_sdk.init(endpoint=sys.argv[1], api_key=sys.argv[2])\n'
        'def boom():\n'
        '    raise RuntimeError("boom")\n'
        'boom()\n',
        encoding='utf-8',
    )

    result = subprocess.run([sys.executable, str(script), server.url, API_KEY], capture_output=True, timeout=30)

    assert result.returncode == 1
    (event,) = server.events()
    assert (event['level'], event['tags']) == ('fatal', {'mechanism': 'sys.excepthook'})
    assert event['stacktrace']['frames'][-1]['function'] == 'boom'


FORKING_SCRIPT = """
import os, sys
import pulsekit_sdk

pulsekit_sdk.init(endpoint=sys.argv[1], api_key=sys.argv[2], batch_interval_s=60)
pulsekit_sdk.capture_message('from the parent, before the fork')
pid = os.fork()
if pid == 0:
    pulsekit_sdk.capture_message('from the child')
    os._exit(0 if pulsekit_sdk.flush(5) else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) or (0 if pulsekit_sdk.flush(5) else 4))
"""


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='os.fork exists on POSIX only')
def test_a_forked_child_sends_its_own_events_and_not_the_parents_queue(server, tmp_path):
    script = tmp_path / 'fork.py'
    script.write_text(FORKING_SCRIPT, encoding='utf-8')

    result = subprocess.run([sys.executable, str(script), server.url, API_KEY], capture_output=True, timeout=30)

    assert result.returncode == 0, result.stderr
    messages = sorted(event['message'] for event in server.events())
    assert messages == ['from the child', 'from the parent, before the fork']


@pytest.mark.filterwarnings('ignore::pytest.PytestUnhandledThreadExceptionWarning')
def test_an_exception_that_ends_a_thread_is_captured(global_client, server):
    global_client()

    def work():
        raise ValueError('worker crashed')

    thread = threading.Thread(target=work, name='invoice-worker')
    thread.start()
    thread.join(5)

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()
    assert event['exception']['type'] == 'ValueError'
    assert event['tags'] == {'mechanism': 'threading.excepthook'}
    assert event['metadata'] == {'thread': 'invoice-worker'}
    assert event['stacktrace']['frames'][-1]['function'] == 'work'


def test_a_failed_asyncio_task_nobody_awaited_is_captured(global_client, server):
    global_client()

    async def sync_orders():
        raise ConnectionError('orders API down')

    async def main():
        task = asyncio.ensure_future(sync_orders())
        await asyncio.sleep(0.01)
        assert task.done()
        del task  # asyncio reports "Task exception was never retrieved" when the task is collected
        gc.collect()

    asyncio.run(main())

    assert pulsekit_sdk.flush(5.0)
    (event,) = server.events()
    assert event['exception']['type'] == 'ConnectionError'
    assert event['tags'] == {'mechanism': 'asyncio'}
    assert event['stacktrace']['frames'][-1]['function'] == 'sync_orders'


def test_hooks_are_removed_by_close():
    hooks = (sys.excepthook, threading.excepthook, asyncio.BaseEventLoop.default_exception_handler)
    pulsekit_sdk.init(endpoint='http://127.0.0.1:9', api_key='pk_x')
    assert sys.excepthook is not hooks[0]
    pulsekit_sdk.close(0.1)
    assert (sys.excepthook, threading.excepthook, asyncio.BaseEventLoop.default_exception_handler) == hooks


def test_logging_handler_sends_error_records_with_their_exception_and_ignores_lower_levels(global_client, server):
    global_client()
    logger = logging.getLogger('shop.payments')
    handler = pulsekit_sdk.LoggingHandler()
    logger.addHandler(handler)
    try:
        logger.warning('retrying payment')
        logger.error('payment %s declined', 'p-9')
        try:
            {}['card']
        except KeyError:
            logger.exception('payment crashed')
        logger.critical('ledger out of balance')
    finally:
        logger.removeHandler(handler)

    assert pulsekit_sdk.flush(5.0)
    declined, crashed, ledger = server.events()
    assert (declined['message'], declined['level'], declined['type']) == ('payment p-9 declined', 'error', 'error')
    assert declined['tags'] == {'logger': 'shop.payments'}
    assert 'exception' not in declined
    assert crashed['exception']['type'] == 'KeyError'
    assert crashed['message'] == 'payment crashed'
    assert ledger['level'] == 'fatal'
