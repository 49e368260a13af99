"""Alerting inside a running instance: evaluators and the dispatcher, wired to the bus and the scheduler.

Commit summaries arrive on the loop; they are queued and evaluated in a worker thread by one
drain task at a time, so a burst of commits becomes a few evaluations, never a pile of
threads, and nothing runs on the request path. Firings are written on the writer thread
(one transaction each) and the dispatcher is woken at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from datetime import datetime

from ..bus import CommitSummary
from ..db import is_sqlite
from ..errors import InsufficientStorage
from ..instance_settings import public_url
from ..models import now_utc
from . import catchup, evaluate, outbox, rules
from .dispatcher import Dispatcher

log = logging.getLogger(__name__)

MAX_PENDING_SUMMARIES = 10_000  # beyond this, summaries are dropped with a warning (the writer is far ahead)
# How long the set of projects with event rules is trusted (rules written by another process, e.g.
# another replica on PostgreSQL, are seen after this).
RULE_PROJECTS_TTL_S = 10.0


class AlertEngine:
    def __init__(self, services, *, clock=now_utc):
        self.services = services
        self.settings = services.settings
        self._clock = clock
        self.dispatcher = Dispatcher(
            services.writer.run_task,
            retry_delays_s=self.settings.webhook_retry_delays_s,
            clock=clock,
            claim=not is_sqlite(services.db),  # replicas share the outbox: each delivery is sent by one
        )
        self._pending: list[CommitSummary] = []
        self._in_progress: list[CommitSummary] = []
        self._drain_task: asyncio.Task | None = None
        self._unsubscribe = None
        self._seq_seen_before: int | None = None  # max event seq read at the previous checkpoint
        self._catch_up_task: asyncio.Task | None = None
        self._seq_saved: int | None = None  # the watermark last written (no write while nothing changes)
        # (rules.writes() and monotonic time when loaded, projects with event rules): lets a commit of
        # projects without new_error/pattern rules skip evaluation, with no thread hop or query per commit.
        self._rule_projects: tuple[int, float, set[int]] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, scheduler=None) -> None:
        """Subscribe to commits and add the threshold and dispatcher jobs (call on the loop)."""
        loop = asyncio.get_running_loop()
        self._unsubscribe = self.services.bus.subscribe(self.on_commit, loop=loop)
        self._catch_up_task = loop.create_task(self.catch_up())
        if scheduler is not None:
            scheduler.add_job(
                self.checkpoint, 'interval', seconds=self.settings.alert_eval_interval_s,
                max_instances=1, coalesce=True, id='alerts-checkpoint',
            )  # fmt: skip
            scheduler.add_job(
                self.run_thresholds, 'interval', seconds=self.settings.alert_eval_interval_s,
                max_instances=1, coalesce=True, id='alerts-thresholds', next_run_time=self._clock(),
            )  # fmt: skip
            scheduler.add_job(
                self.dispatcher.run_due, 'interval', seconds=self.settings.webhook_dispatch_interval_s,
                max_instances=1, coalesce=True, id='alerts-dispatcher', next_run_time=self._clock(),
            )  # fmt: skip

    async def stop(self) -> None:
        if self._catch_up_task is not None:
            self._catch_up_task.cancel()
        if self._unsubscribe:
            self._unsubscribe()
        await self.dispatcher.close()

    @property
    def is_idle(self) -> bool:
        """No commit summary is waiting for or under evaluation."""
        return not self._pending and not self._in_progress and (self._drain_task is None or self._drain_task.done())

    # -- new_error and pattern: on commit ------------------------------------------------------
    def on_commit(self, summary: CommitSummary) -> None:
        """Bus callback (on the loop): queue the summary and make sure a drain task runs."""
        # Another replica's commit (relayed for live pages) is evaluated by that replica: once, not once per replica.
        if summary.origin is not None or self._no_rule_concerns(summary):
            return
        if len(self._pending) >= MAX_PENDING_SUMMARIES:
            log.warning('alert evaluation is behind; dropping a commit summary of %d events', len(summary.events))
            return
        self._pending.append(summary)
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.get_running_loop().create_task(self._drain())

    def _no_rule_concerns(self, summary: CommitSummary) -> bool:
        known = self._rule_projects
        stale = known is None or known[0] != rules.writes()
        if stale or time.monotonic() - known[1] > RULE_PROJECTS_TTL_S:
            return False
        return not summary.project_ids & known[2]

    def _evaluate(self, batch: list[CommitSummary], now: datetime):
        """In a worker thread: the triggers of a batch, and a fresh list of the projects with event rules."""
        writes, loaded_at = rules.writes(), time.monotonic()  # read before the query
        self._rule_projects = (writes, loaded_at, evaluate.event_rule_project_ids())
        return evaluate.match_commits(batch, now)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            self._in_progress = batch
            try:
                triggers = await asyncio.to_thread(self._evaluate, batch, self._clock())
                await self.fire(triggers)
            except Exception:  # a task boundary: never let one bad evaluation stop alerting
                log.exception('evaluating alert rules for %d commits failed', len(batch))
            finally:
                self._in_progress = []

    # -- crash safety ----------------------------------------------------------------------------
    async def catch_up(self) -> int:
        """At start-up: evaluate the events committed after the durable watermark (a crash may have
        cut their evaluation short); on the very first start, just set the watermark. Returns firings."""
        try:
            watermark = await asyncio.to_thread(catchup.load_watermark)
            if watermark is None:
                # First start with alerting: nothing to catch up on; the first checkpoint stores the watermark
                # (no write at start-up, when the first pages and requests are busy with their own).
                self._seq_seen_before = await asyncio.to_thread(catchup.max_event_seq)
                return 0
            fired: list[int] = []
            evaluated = 0
            while evaluated < catchup.MAX_CATCH_UP_EVENTS:
                summary, last_seq = await asyncio.to_thread(catchup.events_after, watermark)
                if summary is None:
                    break
                triggers = await asyncio.to_thread(evaluate.match_commits, [summary], self._clock())
                fired += await self.fire(triggers)
                await asyncio.wrap_future(self.services.writer.run_task(lambda s=last_seq: catchup.save_watermark(s)))
                evaluated += len(summary.events)
                watermark = last_seq
            self._seq_saved = watermark
            if evaluated:
                log.info('re-evaluated %d events committed before the restart: %d firing(s)', evaluated, len(fired))
            return len(fired)
        except Exception:
            log.exception('re-evaluating events after a restart failed')
            return 0

    async def wait_caught_up(self) -> None:
        """Wait for the start-up catch-up to finish (tests, and anything that needs a settled state)."""
        if self._catch_up_task is not None:
            await asyncio.shield(self._catch_up_task)

    async def checkpoint(self) -> None:
        """Persist the watermark: every event stored before the previous checkpoint has been published
        and, if the evaluator is idle now, evaluated (a whole interval is a wide margin for that)."""
        try:
            if self._catch_up_task is not None and not self._catch_up_task.done():
                return
            latest = await asyncio.to_thread(catchup.max_event_seq)
            previous, self._seq_seen_before = self._seq_seen_before, latest
            if previous is not None and previous != self._seq_saved and self.is_idle:
                await asyncio.wrap_future(self.services.writer.run_task(lambda: catchup.save_watermark(previous)))
                self._seq_saved = previous
        except Exception:
            log.exception('saving the alert evaluation watermark failed')

    # -- threshold: on the grid ------------------------------------------------------------
    async def run_thresholds(self, now: datetime | None = None) -> int:
        """Evaluate threshold rules at the current grid point; returns how many fired."""
        now = now or self._clock()
        locks = self.services.job_locks
        try:
            # Replicas: one evaluates a grid point, the others skip (the window keys would dedupe them anyway).
            if not await asyncio.to_thread(locks.try_acquire, 'alerts-thresholds'):
                return 0
            try:
                interval_s = self.settings.alert_eval_interval_s
                triggers = await asyncio.to_thread(evaluate.evaluate_thresholds, now, interval_s)
                return len(await self.fire(triggers, now=now))
            finally:
                await asyncio.to_thread(locks.release, 'alerts-thresholds')
        except Exception:
            log.exception('evaluating threshold rules failed')
            return 0

    # -- firing ----------------------------------------------------------------------------
    async def fire(self, triggers: list[tuple[int, outbox.Trigger]], now: datetime | None = None) -> list[int]:
        """Write firings (deduped, cooldown-checked) with their deliveries; wake the dispatcher."""
        if not triggers:
            return []
        now = now or self._clock()
        settings = self.settings

        def write() -> list[int]:
            base = public_url(settings)
            ids = [outbox.record_firing(rule_id, t, now=now, base_url=base) for rule_id, t in triggers]
            return [i for i in ids if i is not None]

        fired = await asyncio.wrap_future(self.services.writer.run_task(write))
        if fired:
            self.dispatcher.wake()
        return fired

    async def send_test(self, rule_id: int) -> int:
        """Queue a test webhook for a rule (ignores cooldown and enabled); returns the firing id."""
        now = self._clock()
        sample = {
            'id': '00000000-0000-4000-8000-000000000000',
            'type': 'error',
            'level': 'error',
            'message': 'This is a test notification from PulseKit.',
            'timestamp': now,
        }
        trigger = outbox.Trigger(f'test:{secrets.token_hex(8)}', [sample], 1, now, now)
        settings = self.settings

        def write():
            return outbox.record_firing(rule_id, trigger, now=now, base_url=public_url(settings), test=True)

        firing_id = await asyncio.wrap_future(self.services.writer.run_task(write))
        self.dispatcher.wake()
        return firing_id

    def stop_sync(self, timeout_s: float = 5.0) -> None:
        """Shut-down hook (synchronous, the loop is blocked): stop listening and evaluate what is still queued,
        so events acknowledged just before a graceful stop still fire, then save the watermark. Pending
        deliveries stay in the outbox. A batch that was mid-evaluation is evaluated again; window keys make
        that harmless."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        self.dispatcher.cancel()
        if self._catch_up_task is not None:
            self._catch_up_task.cancel()
        batch, self._pending = [*self._in_progress, *self._pending], []
        writer = self.services.writer
        if not writer.is_running:
            return
        try:
            triggers = evaluate.match_commits(batch, self._clock()) if batch else []
            if triggers:
                now, base = self._clock(), public_url(self.settings)

                def write():
                    return [outbox.record_firing(rule_id, t, now=now, base_url=base) for rule_id, t in triggers]

                writer.run_task(write).result(timeout_s)
            # Everything stored so far is evaluated: the next start has nothing to catch up on.
            writer.run_task(lambda: catchup.save_watermark(catchup.max_event_seq())).result(timeout_s)
        except InsufficientStorage:  # the watermark stays behind: the next start evaluates these commits
            log.error('evaluating %d queued commits at shutdown: the disk is full; the next start does it', len(batch))
        except Exception:
            log.exception('evaluating %d queued commits at shutdown failed', len(batch))
