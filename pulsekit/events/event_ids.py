"""Which event ids a SQLite file holds, asked without a unique index (migration 0012 says why).

The writer asks before each INSERT: an id stored before is a client retry (same project) or a
conflict (another project). A Bloom filter of every stored id answers "not stored" for nearly
every new id in about a microsecond; only the ids it may hold are looked up in the table, whose
lookup by id probes each block of 8,192 events. No false "not stored" is possible, so no
duplicate gets in; a false "maybe" costs one lookup.

The filter lives in memory, 3 bytes for each id its slices were made for (3-6 a stored event). A
thread fills it from the table at start-up, in short reads, while the writer goes on: until it is
swapped in, every id is looked up (slower, still exact), so a big file never holds back the first
commits (1.2 s for 404,100 ids, 1.9 s read cold).
It grows by slices, so adding never rescans. Retention's deletes leave their ids in it; once the
slices hold four times more ids than the table, the same thread's work rebuilds it. Either way,
the ids inserted while it reads join the new filter when it is swapped in.

Only the writer's thread calls this, apart from the filling thread (see `_rebuild`).
"""

from __future__ import annotations

import logging
import threading
import time
from array import array

import peewee as pw

from ..threads import named_thread

log = logging.getLogger(__name__)

BITS_PER_ID = 24
# Each id sets 6 bits of one 64-bit word, so a probe reads one word per slice, however many slices:
# ~0.1 % false "maybe" when a slice is full (a classic filter's 11 bits spread over the slice give
# ~0.05 % at 16 bits an id, but cost a loop per slice: 3.8 against 1.5 us a new id at 1M events).
WORD_SHIFT = 36  # the salted hash's bits 0-35 pick the 6 bits, 36-63 the word
MIN_SLICE_IDS = 1 << 16
REBUILD_SLACK = 4  # rebuild once the slices were made for this many times the stored events
LOAD_BLOCKS = 16  # blocks of seqs read per statement while filling (131,072 ids: ~0.1 s)
REBUILD_CACHE_KB = 1024
# Each bound alone, so that each is a seek to one end of the table: `min(a), max(a), count(*)` in one
# SELECT reads every row of it (the whole file: seconds, and a snapshot held meanwhile, at 1M events).
# count(*) alone reads the smallest index, a few pages per thousand events.
SEQ_SPAN_SQL = 'SELECT (SELECT min(seq) FROM events), (SELECT max(seq) FROM events)'
FILL_BOUNDS_SQL = (
    'SELECT (SELECT seq_block FROM events ORDER BY seq LIMIT 1), '
    '(SELECT seq_block FROM events ORDER BY seq DESC LIMIT 1), (SELECT count(*) FROM events)'
)


def _word_and_bits(key: str) -> tuple[int, int]:
    h = hash(key) & 0xFFFF_FFFF_FFFF_FFFF
    bits = 1 << (h & 63) | 1 << (h >> 6 & 63) | 1 << (h >> 12 & 63)
    return h >> WORD_SHIFT, bits | 1 << (h >> 18 & 63) | 1 << (h >> 24 & 63) | 1 << (h >> 30 & 63)


class BloomSlice:
    """A blocked Bloom filter for up to `capacity` keys (str), asked through BloomFilter, which hashes a key
    once for all its slices. Python's str hash is salted per process: no client can choose ids that
    collide on purpose."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.count = 0
        self.words = array('Q', bytes(8 * (capacity * BITS_PER_ID // 64 + 1)))
        self.size = len(self.words)

    def add(self, key: str) -> None:
        word, bits = _word_and_bits(key)
        self.words[word % self.size] |= bits
        self.count += 1

    @property
    def nbytes(self) -> int:
        return self.words.itemsize * self.size


class BloomFilter:
    """Slices of growing capacity: a new one when the last is full, so adding never rescans."""

    def __init__(self, capacity: int):
        self.slices = [BloomSlice(max(MIN_SLICE_IDS, capacity))]

    def add(self, key: str) -> None:
        last = self.slices[-1]
        if last.count >= last.capacity:
            last = BloomSlice(max(MIN_SLICE_IDS, self.capacity))
            self.slices.append(last)
        last.add(key)

    def __contains__(self, key: str) -> bool:
        word, bits = _word_and_bits(key)  # once for every slice
        for s in self.slices:  # noqa: SIM110  (any() over a generator: 2.0 against 1.5 us at 1M ids)
            if s.words[word % s.size] & bits == bits:
                return True
        return False

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.slices)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.slices)


class StoredIds:
    """The ids of a SQLite file's events (hex, no dashes), for its writer."""

    def __init__(self, db: pw.Database):
        self.db = db
        self._filter: BloomFilter | None = None
        self._rebuilding: threading.Thread | None = None
        self._rebuilt: BloomFilter | None = None  # set by the rebuild's thread, swapped in by the writer's
        self._added_while_rebuilding: list[str] = []
        self._slices_checked = 1  # a new slice is when the filter may have outgrown the table
        self.rebuilds = 0

    def add(self, hex_ids: list[str]) -> None:
        """Ids of rows just inserted (a rollback later leaves them here: a false "maybe", harmless)."""
        if self._filter is not None:
            for hex_id in hex_ids:
                self._filter.add(hex_id)
        if self._rebuilding is not None:
            self._added_while_rebuilding.extend(hex_ids)

    @property
    def is_filled(self) -> bool:
        return self._filter is not None

    def after_commit(self) -> None:
        """Between two of the writer's transactions: swap in a finished fill, or start a rebuild. Never
        inside one: the fill would not read the ids its uncommitted rows add."""
        if self._rebuilding is not None:
            self._swap_in_rebuilt()
        elif self._filter is not None and len(self._filter.slices) > self._slices_checked:
            self._slices_checked = len(self._filter.slices)
            if self._filter.capacity > REBUILD_SLACK * max(self._stored_estimate(), MIN_SLICE_IDS):
                self.start_filling()

    def maybe_stored(self, hex_ids: list[str]) -> list[str]:
        """The ids the table may hold (all of them while the filter is not filled): look these up."""
        return hex_ids if self._filter is None else [h for h in hex_ids if h in self._filter]

    @property
    def nbytes(self) -> int:
        return 0 if self._filter is None else self._filter.nbytes

    def _stored_estimate(self) -> int:
        # Retention deletes the oldest events: the span of seqs is close to the count, and costs nothing.
        low, high = self.db.execute_sql(SEQ_SPAN_SQL).fetchone()
        return 0 if low is None else high - low + 1

    def start_filling(self) -> None:
        """Fill a new filter from the table on a thread: at start-up (the writer's thread, before its first
        transaction) and for a rebuild (see after_commit)."""
        self._added_while_rebuilding = []
        self._rebuilding = named_thread(self._rebuild, 'pulsekit-event-ids')
        self._rebuilding.start()

    def _rebuild(self) -> None:
        started = time.perf_counter()
        try:
            with self.db.connection_context():  # this thread's own connection
                # The scan reads each page once: the usual 32 MB page cache would only stay in this
                # process's heap after the thread ends (measured: +34 MB a rebuild in the soak).
                self.db.execute_sql(f'PRAGMA cache_size = -{REBUILD_CACHE_KB}')
                rebuilt = self._read_all(self.db)
        except Exception:  # the old filter (or none: every id looked up) stays, slower but exact
            log.exception('event id filter: filling it failed')
            rebuilt = None
        if rebuilt is not None:
            log.info(
                'event id filter: %d ids in %.1fs (%.1f MB)',
                sum(s.count for s in rebuilt.slices), time.perf_counter() - started, rebuilt.nbytes / 1e6,
            )  # fmt: skip
        self._rebuilt = rebuilt or self._filter  # read by the writer's thread once this one ended

    def _swap_in_rebuilt(self) -> None:
        if self._rebuilding is None or self._rebuilding.is_alive():
            return
        self._rebuilding = None
        rebuilt, self._rebuilt = self._rebuilt, None
        if rebuilt is not None and rebuilt is not self._filter:
            for hex_id in self._added_while_rebuilding:  # inserted after the fill began to read
                rebuilt.add(hex_id)
            if self._filter is not None:
                self.rebuilds += 1
            self._filter = rebuilt
        self._added_while_rebuilding = []
        if self._filter is not None:
            self._slices_checked = len(self._filter.slices)

    @staticmethod
    def _read_all(db: pw.Database) -> BloomFilter:
        """Every stored id, read block by block through the (seq_block, id) index: short reads that
        never hold a snapshot (and so the WAL) for long."""
        low, high, count = db.execute_sql(FILL_BOUNDS_SQL).fetchone()
        found = BloomFilter(2 * count)
        if low is None:
            return found
        for first in range(low, high + 1, LOAD_BLOCKS):
            cursor = db.execute_sql(
                'SELECT id FROM events INDEXED BY events_seq_block_id WHERE seq_block BETWEEN ? AND ?',
                (first, first + LOAD_BLOCKS - 1),
            )
            for (hex_id,) in cursor:
                found.add(str(hex_id).replace('-', ''))
        return found
