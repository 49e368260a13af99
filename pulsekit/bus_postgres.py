"""The bus across replicas: PostgreSQL LISTEN/NOTIFY relays each replica's commit summaries to the others.

Every replica publishes its writer's commits on its own in-process bus (bus.py). This bridge
forwards them with NOTIFY on one channel and re-publishes what other replicas sent, so a page
served by replica B refreshes live for an event ingested through replica A.

- Sending never blocks the writer: the bus callback only appends to a bounded queue; a sender
  thread drains it and sends everything queued with one `pg_notify` statement on its own
  autocommit connection. A full queue drops the oldest summaries (a live page catches up on
  the next commit; the events themselves are in the database).
- A NOTIFY payload is limited to 8000 bytes, so summaries travel compact: messages cut to
  MESSAGE_CHARS, events packed into as many payloads as needed. A flush (at most one per
  FLUSH_INTERVAL_S) relays at most MAX_RELAYED_EVENTS events: under a flood, the newest event of
  each kind (project, level, type, environment, release, issue), so every filtered page still
  hears of its events, then the newest others. Relaying costs ~µs per event on the sender thread.
- Changes to what replicas cache (alert rules, allowed origins) are relayed too, so every replica
  forgets its copy within about CHANGE_POLL_S instead of waiting for its cache's lifetime.
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

from . import origins
from .alerts import rules
from .bus import Bus, CommitSummary
from .threads import named_thread

log = logging.getLogger(__name__)

CHANNEL = 'pulsekit_bus'
MAX_PAYLOAD_BYTES = 7_900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
MESSAGE_CHARS = 160  # pages show a line of the message; alerts re-read the full text from the table
MAX_EVENT_BYTES = 2_000  # an event summary bigger than this (many long tags) travels without its tags
MAX_QUEUED_SUMMARIES = 1_000
# Events relayed per flush at most (~100 KB): beyond it the newest of each kind and the newest others go.
MAX_RELAYED_EVENTS = 300
MAX_ISSUE_IDS = 1_000  # new (and regressed) issue ids relayed per flush, the newest
ISSUE_IDS_PER_PAYLOAD = 300  # 20 bytes each at most
INLINE_ISSUE_IDS = 50  # this many issue ids travel inside the first events payload, more in payloads of their own
PAYLOAD_HEAD_BYTES = 100  # origin, number and the empty id lists of an events payload
CHANGE_POLL_S = 0.25  # how often this process's own rule and origin changes are looked for, seconds
FLUSH_INTERVAL_S = 0.05  # at most 20 flushes a second: commits in between travel together
LISTEN_POLL_S = 0.5  # how often the listener looks at its stop flag, seconds
CONNECT_TIMEOUT_S = 10
RECONNECT_DELAYS_S = (0.5, 1, 2, 5, 10)  # backoff after a lost connection, the last one repeated


def _encode_event(event: dict) -> bytes:
    message = event.get('message') or ''
    out = {**event, 'message': message[:MESSAGE_CHARS]} if len(message) > MESSAGE_CHARS else event
    encoded = orjson.dumps(out)
    if len(encoded) > MAX_EVENT_BYTES:
        encoded = orjson.dumps({**out, 'tags': {}})
    return encoded


def _shape(event: dict) -> tuple:
    return tuple(event.get(k) for k in ('project_id', 'level', 'type', 'environment', 'release', 'issue_id'))


def relayed_events(events: list[dict], limit: int = MAX_RELAYED_EVENTS) -> list[dict]:
    """All events when they are few; else the newest of each kind (so a page filtered on any level, type,
    environment, release or issue still hears of its events) and the newest others, oldest first."""
    if len(events) <= limit:
        return events
    kept: dict[int, dict] = {}
    shapes: set[tuple] = set()
    for index in range(len(events) - 1, -1, -1):
        shape = _shape(events[index])
        if shape not in shapes and len(shapes) < limit:
            shapes.add(shape)
            kept[index] = events[index]
    for index in range(len(events) - 1, -1, -1):
        if len(kept) >= limit:
            break
        kept.setdefault(index, events[index])
    return [kept[i] for i in sorted(kept)]


def _payload(origin: str, number: int, new_ids: list[int], regressed: list[int], events: list[bytes]) -> str:
    head = orjson.dumps({'o': origin, 'p': number, 'n': new_ids, 'r': regressed})
    return (head[:-1] + b',"e":[' + b','.join(events) + b']}').decode()


def encode_summaries(origin: str, summaries: list[CommitSummary]) -> list[str]:
    """NOTIFY payloads (each under MAX_PAYLOAD_BYTES) carrying these summaries' issue ids and events."""
    new_ids = sorted({i for s in summaries for i in s.new_issue_ids})[-MAX_ISSUE_IDS:]
    regressed = sorted({i for s in summaries for i in s.regressed_issue_ids})[-MAX_ISSUE_IDS:]
    # 'p' numbers the payloads: PostgreSQL delivers identical payloads of one transaction only once.
    payloads: list[str] = []
    inline = len(new_ids) + len(regressed) <= INLINE_ISSUE_IDS  # the usual case: they ride with the events
    if not inline:
        for start in range(0, max(len(new_ids), len(regressed)), ISSUE_IDS_PER_PAYLOAD):
            part = slice(start, start + ISSUE_IDS_PER_PAYLOAD)
            payloads.append(_payload(origin, len(payloads), new_ids[part], regressed[part], []))
    ids = (new_ids, regressed) if inline else ([], [])
    budget = MAX_PAYLOAD_BYTES - PAYLOAD_HEAD_BYTES - len(orjson.dumps(ids))
    chunk: list[bytes] = []
    size = 0
    for event in relayed_events([e for s in summaries for e in s.events]):
        encoded = _encode_event(event)
        if chunk and size + len(encoded) > budget:
            payloads.append(_payload(origin, len(payloads), *ids, chunk))
            chunk, size, ids = [], 0, ([], [])
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk or ids[0] or ids[1]:
        payloads.append(_payload(origin, len(payloads), *ids, chunk))
    return payloads


def decode_payload(payload: str) -> tuple[str, CommitSummary]:
    """(origin, summary) of one NOTIFY payload."""
    data = orjson.loads(payload)
    return data['o'], CommitSummary(data['e'], data['n'], data['r'], origin=data['o'])


def encode_changes(origin: str, kinds: list[str]) -> str:
    """A payload saying which cached settings changed in the sending replica ('rules', 'origins')."""
    return orjson.dumps({'o': origin, 'k': kinds}).decode()


# What another replica's change makes this process forget, and how this process notices its own changes.
CACHES = {
    'rules': (rules.writes, rules.forget_cached_rules),
    'origins': (origins.origins_version, origins.forget_cached_origins),
}


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
        self._seen_lock = threading.Lock()
        self._seen = {kind: version() for kind, (version, _) in CACHES.items()}

    def start(self, wait_s: float = 5.0) -> None:
        """Subscribe to local commits and start both threads; waits (bounded) until LISTEN is in place."""
        self._unsubscribe = self.bus.subscribe(self._on_commit)
        for target, name in ((self._listen_loop, 'pulsekit-bus-listen'), (self._send_loop, 'pulsekit-bus-notify')):
            thread = named_thread(target, name)
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
        """The queued summaries, after waiting (at most CHANGE_POLL_S) for one."""
        with self._cond:
            if not self._queue and not self._stop.is_set():
                self._cond.wait(CHANGE_POLL_S)
            taken = list(self._queue)
            self._queue.clear()
            return taken

    def _changed_caches(self) -> list[str]:
        """Caches this process changed since the last look (a change relayed from elsewhere is not ours)."""
        with self._seen_lock:
            changed = [kind for kind, (version, _) in CACHES.items() if version() != self._seen[kind]]
            for kind in changed:
                self._seen[kind] = CACHES[kind][0]()
            return changed

    def _send_loop(self) -> None:
        conn = None
        failures = 0
        while True:
            summaries = self._take()
            changed = self._changed_caches()
            if not summaries and not changed:
                if self._stop.is_set():
                    break  # stopping, nothing left to send
                continue
            payloads = encode_summaries(self.origin, summaries)
            if changed:
                payloads.append(encode_changes(self.origin, changed))
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
                # One statement, one round trip, however many payloads.
                conn.execute('SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p', (self.channel, payloads))
                self.sent += len(payloads)
                failures = 0
                self._stop.wait(FLUSH_INTERVAL_S)  # commits arriving meanwhile travel together in the next flush
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
                conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
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
            data = orjson.loads(payload)
            if data['o'] == self.origin:
                return
            if 'k' in data:
                self._forget(data['k'])
                return
            _, summary = decode_payload(payload)
        except Exception:
            log.warning('ignoring an unreadable replica bus message (%d bytes)', len(payload))
            return
        self.received += 1
        self.bus.publish(summary)

    def _forget(self, kinds: list[str]) -> None:
        with self._seen_lock:
            for kind in kinds:
                if kind in CACHES:
                    version, forget = CACHES[kind]
                    forget()
                    self._seen[kind] = version()  # our own forgetting is not a change to relay back


def _delay(failures: int) -> float:
    return RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S)) - 1]


def _close(conn):
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
    return None
