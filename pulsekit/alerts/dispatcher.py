"""The webhook dispatcher: sends due deliveries from the outbox, signs them, records every attempt.

Runs on the event loop: an APScheduler job calls `run_due()` every second, and `wake()` runs
it at once when a firing was just written. A delivery being sent is remembered in memory so
overlapping runs never send it twice; its state lives in the database, so a restart resumes
where the last process stopped (at worst one attempt is repeated, and the stable
`webhook-id` lets the receiver drop the duplicate).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import logging
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import orjson

from .. import __version__
from ..errors import Overloaded
from ..instance_settings import get_setting
from ..models import AlertFiring, AlertRule, WebhookDelivery, now_utc
from . import outbox
from .formats import render_body
from .signing import signed_headers
from .targets import TargetRefused, resolve_target

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10.0  # connect + read, per attempt: a slow receiver cannot hold a sender for long
MAX_IN_FLIGHT = 16  # deliveries sent at once
MAX_PER_RUN = 100
RESPONSE_SNIPPET_BYTES = 500
# Replicas claim a delivery for this long before sending it (outbox.claim_deliveries): longer than one attempt.
CLAIM_LEASE_S = 6 * WEBHOOK_TIMEOUT_S
USER_AGENT = f'PulseKit-Webhooks/{__version__}'


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Dispatcher:
    def __init__(
        self,
        run_write: Callable,
        *,
        retry_delays_s: tuple[float, ...] = outbox.RETRY_DELAYS_S,
        clock: Callable[[], datetime] = now_utc,
        verify: ssl.SSLContext | bool = True,  # TLS verification; tests pass a context trusting their own CA
        claim: bool = False,  # several processes share the outbox (PostgreSQL): claim rows before sending
    ):
        # run_write(fn) runs fn on the writer thread and returns a concurrent future (services.writer.run_task).
        self._run_write = run_write
        self.retry_delays_s = tuple(retry_delays_s)
        self._clock = clock
        self._claim = claim
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task] = set()
        self._client = httpx.AsyncClient(
            timeout=WEBHOOK_TIMEOUT_S,
            follow_redirects=False,  # a redirect could point past the SSRF check
            trust_env=False,  # never route webhooks through proxies from the environment
            verify=verify,
            headers={'User-Agent': USER_AGENT},
        )

    async def close(self) -> None:
        self.cancel()
        await self._client.aclose()

    def wake(self) -> None:
        """Send whatever is due now, without waiting for the next tick (call on the loop)."""
        task = asyncio.get_running_loop().create_task(self.run_due())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run_due(self) -> int:
        """Send every due delivery that is not already being sent; returns how many attempts were made."""
        try:
            return await self._run_due()
        except asyncio.CancelledError:  # shutdown: whatever was not recorded stays pending in the outbox
            return 0

    async def _run_due(self) -> int:
        now = self._clock()
        try:
            due = await asyncio.to_thread(outbox.due_deliveries, now, MAX_PER_RUN)
        except Exception:
            log.exception('could not read due webhook deliveries')
            return 0
        due_ids = [d.id for d in due if d.id not in self._in_flight][: max(0, MAX_IN_FLIGHT - len(self._in_flight))]
        if not due_ids:
            return 0
        self._in_flight.update(due_ids)
        try:
            if self._claim:  # only when something is due: an idle outbox costs no write
                claimed = await asyncio.wrap_future(
                    self._run_write(lambda: outbox.claim_deliveries(due_ids, now, CLAIM_LEASE_S))
                )
                self._in_flight.difference_update(set(due_ids) - set(claimed))
                due_ids = claimed
            await asyncio.gather(*(self._deliver(i) for i in due_ids))
        except Exception:
            log.exception('could not claim due webhook deliveries')
            return 0
        finally:
            self._in_flight.difference_update(due_ids)
        return len(due_ids)

    def cancel(self) -> None:
        """Stop woken runs (shutdown); an attempt cut short is simply made again after the restart."""
        for task in list(self._tasks):
            task.cancel()

    async def _deliver(self, delivery_id: int) -> None:
        try:
            await self._attempt(delivery_id)
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            log.info('webhook delivery %s interrupted by shutdown; it stays pending', delivery_id)
        except Overloaded:  # the writer is shutting down: the row keeps its state for the next start
            log.info('webhook delivery %s not recorded: shutting down; it stays pending', delivery_id)
        except Exception:  # a task boundary: log with context; the row keeps its state and is retried
            log.exception('webhook delivery %s failed unexpectedly', delivery_id)

    async def _attempt(self, delivery_id: int) -> None:
        loaded = await asyncio.to_thread(_load, delivery_id)
        if loaded is None:
            return
        delivery, firing, rule, allow_private = loaded
        if rule.is_webhook_disabled:
            reason = 'not sent: the webhook is disabled (the receiver answered 410 Gone)'
            await asyncio.wrap_future(self._run_write(lambda: outbox.skip_delivery(delivery_id, reason)))
            return
        body = orjson.dumps(render_body(rule.webhook_format, firing.payload))
        attempt = await self.send(rule.webhook_url, rule.webhook_secret, delivery.message_id, body, allow_private)
        delays = self.retry_delays_s
        status = await asyncio.wrap_future(self._run_write(lambda: outbox.record_attempt(delivery_id, attempt, delays)))
        if status != 'delivered':
            log.warning(
                'webhook %s for rule %s: attempt %d %s (%s)',
                delivery.message_id, rule.id, delivery.attempts + 1, status, attempt.error or attempt.status_code,
            )  # fmt: skip

    async def send(self, url: str, secret: str, message_id: str, body: bytes, allow_private: bool) -> outbox.Attempt:
        """One signed POST to the checked address; never raises, returns what happened."""
        at = self._clock()
        started = time.perf_counter()
        try:
            target = await resolve_target(url, allow_private)
        except TargetRefused as exc:
            return outbox.Attempt(at, None, None, None, str(exc))
        headers = {
            'Content-Type': 'application/json',
            'Host': target.host_header,
            **signed_headers(secret, message_id, int(at.timestamp()), body),
        }
        extensions = {'sni_hostname': target.server_name} if target.server_name else {}
        try:
            request = self._client.build_request(
                'POST', target.url, content=body, headers=headers, extensions=extensions
            )
            response = await self._client.send(request, stream=True)
            try:
                snippet = await _read_snippet(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            return outbox.Attempt(at, None, _ms(started), None, f'timed out after {WEBHOOK_TIMEOUT_S:g} s')
        except httpx.HTTPError as exc:
            return outbox.Attempt(at, None, _ms(started), None, f'{type(exc).__name__}: {exc}'[:500])
        error = None
        if response.is_redirect:
            error = f'redirect to {response.headers.get("location", "?")} not followed'
        elif not response.is_success:
            error = f'HTTP {response.status_code}'
        retry_after = parse_retry_after(response.headers.get('retry-after'), self._clock())
        return outbox.Attempt(at, response.status_code, _ms(started), snippet, error, retry_after)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def _read_snippet(response: httpx.Response) -> str:
    data = b''
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= RESPONSE_SNIPPET_BYTES:
            break
    return data[:RESPONSE_SNIPPET_BYTES].decode('utf-8', errors='replace')


def _load(delivery_id: int):
    delivery = WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id)
    if delivery is None or delivery.status != 'pending':
        return None
    firing = AlertFiring.get_or_none(AlertFiring.id == delivery.firing_id)
    rule = AlertRule.get_or_none(AlertRule.id == firing.rule_id) if firing else None
    if rule is None:
        return None
    return delivery, firing, rule, bool(get_setting('allow_private_webhook_targets'))
