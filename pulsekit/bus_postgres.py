"""The bus across replicas: PostgreSQL LISTEN/NOTIFY relays each replica's commit summaries to the others.

Every replica publishes its writer's commits on its own in-process bus (bus.py). This bridge
forwards them with NOTIFY on one channel and re-publishes what other replicas sent, so a page
served by replica B refreshes live for an event ingested through replica A.

- Sending never blocks the writer: the bus callback only appends to a bounded queue; a sender
  thread drains it and sends everything queued with one `pg_notify` statement on its own
  autocommit connection. A full queue drops the oldest summaries (a live page catches up on
  the next commit; the events themselves are in the database).
- A NOTIFY payload is limited to 8000 bytes, so summaries travel compact: messages cut to
  MESSAGE_CHARS, events packed into as many payloads as needed, at most MAX_PAYLOADS_PER_FLUSH
  per flush (beyond that the oldest events of a burst are not relayed; pages refresh anyway).
- Each process has a random id; a replica skips its own messages (it already published them).
- A listener thread LISTENs on its own connection; a dropped connection is reopened with
  backoff (notifications sent meanwhile are lost: the next ones refresh the pages).
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading

import orjson
import psycopg

from .bus import Bus, CommitSummary

log = logging.getLogger(__name__)

CHANNEL = 'pulsekit_bus'
MAX_PAYLOAD_BYTES = 7_900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
MESSAGE_CHARS = 160  # pages show a line of the message; alerts re-read the full text from the table
MAX_EVENT_BYTES = 2_000  # an event summary bigger than this (many long tags) travels without its tags
MAX_QUEUED_SUMMARIES = 1_000
MAX_PAYLOADS_PER_FLUSH = 32  # ~250 KB of NOTIFY traffic per flush at most
LISTEN_POLL_S = 0.5  # how often the listener looks at its stop flag, seconds
RECONNECT_DELAYS_S = (0.5, 1, 2, 5, 10)  # backoff after a lost connection, the last one repeated


def _compact(event: dict) -> dict:
    out = dict(event)
    out['message'] = (event.get('message') or '')[:MESSAGE_CHARS]
    if len(orjson.dumps(out)) > MAX_EVENT_BYTES:
        out['tags'] = {}
    return out


def encode_summaries(origin: str, summaries: list[CommitSummary]) -> list[str]:
    """NOTIFY payloads (each under MAX_PAYLOAD_BYTES) carrying these summaries' events and issue ids."""
    new_ids = sorted({i for s in summaries for i in s.new_issue_ids})
    regressed = sorted({i for s in summaries for i in s.regressed_issue_ids})
    # 'p' numbers the payloads: PostgreSQL delivers identical payloads of one transaction only once.
    head = {'o': origin, 'p': 0, 'n': new_ids, 'r': regressed, 'e': []}
    if len(orjson.dumps(head)) > MAX_PAYLOAD_BYTES // 2:  # thousands of new issues at once: pages need the events
        head['n'], head['r'] = [], []
    payloads: list[str] = []
    current, size = head, len(orjson.dumps(head))
    for event in (e for s in summaries for e in s.events):
        encoded = orjson.dumps(_compact(event))
        if size + len(encoded) + 1 > MAX_PAYLOAD_BYTES and current['e']:
            payloads.append(orjson.dumps(current).decode())
            current = {'o': origin, 'p': len(payloads), 'n': [], 'r': [], 'e': []}
            size = len(orjson.dumps(current))
        current['e'].append(orjson.loads(encoded))
        size += len(encoded) + 1
    if current['e'] or current['n'] or current['r']:
        payloads.append(orjson.dumps(current).decode())
    if len(payloads) > MAX_PAYLOADS_PER_FLUSH:  # keep the newest events: that is what a live page shows
        payloads = payloads[-MAX_PAYLOADS_PER_FLUSH:]
    return payloads


def decode_payload(payload: str) -> tuple[str, CommitSummary]:
    """(origin, summary) of one NOTIFY payload."""
    data = orjson.loads(payload)
    return data['o'], CommitSummary(data['e'], data['n'], data['r'], origin=data['o'])


class PostgresBusBridge:
    """Relays commit summaries between the replicas on one PostgreSQL database (see the module docstring)."""

    def __init__(self, dsn: str, bus: Bus, channel: str = CHANNEL):
        self.dsn = dsn
        self.bus = bus
        self.channel = channel
        self.origin = secrets.token_hex(8)
        self.sent = 0  # payloads sent (tests and logs)
        self.received = 0  # payloads from other replicas re-published here
        self.dropped = 0  # summaries dropped because the queue was full
        self._queue: collections.deque[CommitSummary] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unsubscribe = None

    def start(self, wait_s: float = 5.0) -> None:
        """Subscribe to local commits and start both threads; waits (bounded) until LISTEN is in place."""
        self._unsubscribe = self.bus.subscribe(self._on_commit)
        for target, name in ((self._listen_loop, 'pulsekit-bus-listen'), (self._send_loop, 'pulsekit-bus-notify')):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if not self._listening.wait(wait_s):
            log.warning('the replica bus is not listening yet (PostgreSQL unreachable?); it keeps trying')

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(5)

    def _on_commit(self, summary: CommitSummary) -> None:
        """Bus callback on the writer thread: queue and return at once."""
        if summary.origin is not None:  # relayed from another replica: it is theirs to send
            return
        with self._cond:
            if len(self._queue) >= MAX_QUEUED_SUMMARIES:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(summary)
            self._cond.notify()

    # -- sending -----------------------------------------------------------------------------
    def _take(self) -> list[CommitSummary]:
        with self._cond:
            while not self._queue and not self._stop.is_set():
                self._cond.wait()
            taken = list(self._queue)
            self._queue.clear()
            return taken

    def _send_loop(self) -> None:
        conn = None
        failures = 0
        while True:
            summaries = self._take()
            if not summaries:
                break  # stopping, nothing left to send
            payloads = encode_summaries(self.origin, summaries)
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True)
                # One statement, one round trip, however many payloads.
                conn.execute('SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p', (self.channel, payloads))
                self.sent += len(payloads)
                failures = 0
            except Exception:  # a task boundary: never let the relay break ingestion; retry on the next commit
                failures += 1
                log.warning('relaying %d commits to other replicas failed', len(summaries), exc_info=failures == 1)
                conn = _close(conn)
                self._stop.wait(_delay(failures))
        _close(conn)

    # -- listening ---------------------------------------------------------------------------
    def _listen_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            conn = None
            try:
                conn = psycopg.connect(self.dsn, autocommit=True)
                conn.execute(f'LISTEN {self.channel}')
                self._listening.set()
                if failures:
                    log.info('the replica bus listens again')
                failures = 0
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=LISTEN_POLL_S):
                        self._relay(note.payload)
            except Exception:  # a task boundary: reconnect with backoff, never give up while running
                failures += 1
                log.warning('the replica bus lost its connection; reconnecting', exc_info=failures == 1)
                self._stop.wait(_delay(failures))
            finally:
                _close(conn)

    def _relay(self, payload: str) -> None:
        try:
            origin, summary = decode_payload(payload)
        except Exception:
            log.warning('ignoring an unreadable replica bus message (%d bytes)', len(payload))
            return
        if origin == self.origin:
            return
        self.received += 1
        self.bus.publish(summary)


def _delay(failures: int) -> float:
    return RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S)) - 1]


def _close(conn):
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
    return None
