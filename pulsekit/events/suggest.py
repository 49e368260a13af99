"""Search-box autocomplete: what to offer for the token under the caret, whichever token it is.

- a bare prefix → field names (`level:`, `type:`, `environment:`, `release:`, `issue:`, then tag keys by
  use), then words of event messages from the full-text index (most common first);
- `field:prefix` → the values of that field, ranked by how often they occur in the chosen range;
- a leading `-` (exclusion) is kept on whatever is picked.

Each source is an index or rollup read (tag and level rollups, the FTS5 vocabulary, the newest few
thousand events of the range), so suggestions stay fast at millions of events.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import peewee as pw

from ..db import is_sqlite
from ..models import LEVELS, Event, Issue, TagCountHourly
from .search import PG_DOCUMENT
from .search_index import TAIL_TABLE, refresh_tail
from .stats import level_counts

FIELDS = ('level', 'type', 'environment', 'release', 'issue')
MAX_SUGGESTIONS = 8
SAMPLE_EVENTS = 5000  # type, environment and release values (PostgreSQL: words too) come from the newest events
HOUR_MS = 3_600_000
_TOKEN_RE = re.compile(r'-?(?:[^\s":]+:)?"[^"]*"?|\S+')


@dataclass(frozen=True)
class Suggestion:
    token: str  # replaces the token being typed: 'level:error', 'region:', 'timeout'
    kind: str  # field | value | word
    count: int | None = None  # occurrences in the range (values) or events containing it (words)
    hint: str = ''  # e.g. an issue's title


def token_at(text: str, caret: int | None = None) -> tuple[int, int]:
    """(start, end) of the token under the caret (the end of the text by default); empty at a space."""
    caret = len(text) if caret is None else max(0, min(caret, len(text)))
    for match in _TOKEN_RE.finditer(text):
        if match.start() <= caret <= match.end():
            return match.start(), match.end()
    return caret, caret


def insert_suggestion(text: str, caret: int | None, token: str) -> tuple[str, int]:
    """The text with the token under the caret replaced by `token` (its '-' kept), and the new caret.
    A complete token gets a space after it; a field name (`level:`) waits for its value."""
    start, end = token_at(text, caret)
    negated = text[start:end].startswith('-')
    inserted = ('-' if negated else '') + token + ('' if token.endswith(':') else ' ')
    rest = text[end:].lstrip(' ')
    new_text = text[:start] + inserted + rest
    return new_text, start + len(inserted)


def _tag_keys(project_ids, since_ms: int, until_ms: int) -> list[tuple[str, int]]:
    query = TagCountHourly.select(TagCountHourly.key, pw.fn.SUM(TagCountHourly.count)).where(
        TagCountHourly.hour >= since_ms // HOUR_MS * HOUR_MS, TagCountHourly.hour < until_ms
    )
    if project_ids is not None:
        query = query.where(TagCountHourly.project.in_(project_ids))
    return [(k, int(n)) for k, n in query.group_by(TagCountHourly.key).order_by(pw.fn.SUM(TagCountHourly.count).desc())
            .limit(50).tuples()]  # fmt: skip


def _tag_values(project_ids, key: str, prefix: str, since_ms: int, until_ms: int) -> list[tuple[str, int]]:
    total = pw.fn.SUM(TagCountHourly.count)
    query = TagCountHourly.select(TagCountHourly.value, total).where(
        TagCountHourly.key == key,
        TagCountHourly.hour >= since_ms // HOUR_MS * HOUR_MS,
        TagCountHourly.hour < until_ms,
    )
    if prefix:
        query = query.where(TagCountHourly.value.startswith(prefix))
    if project_ids is not None:
        query = query.where(TagCountHourly.project.in_(project_ids))
    return [(v, int(n)) for v, n in query.group_by(TagCountHourly.value).order_by(total.desc()).limit(50).tuples()]


def _column_values(project_ids, column: pw.Field, since_ms: int, until_ms: int) -> list[tuple[str, int]]:
    newest = Event.select(column.alias('v')).where(Event.timestamp >= since_ms, Event.timestamp < until_ms)
    if project_ids is not None:
        newest = newest.where(Event.project.in_(project_ids))
    newest = newest.order_by(Event.timestamp.desc()).limit(SAMPLE_EVENTS)
    counts = Counter(v for (v,) in newest.tuples() if v)
    return counts.most_common()


def _values(field: str, prefix: str, project_ids, since_ms: int, until_ms: int) -> list[Suggestion]:
    if field == 'level':
        counts = level_counts(project_ids, since_ms, until_ms)
        pairs = sorted(((lv, counts.get(lv, 0)) for lv in LEVELS), key=lambda p: -p[1])
    elif field in ('type', 'environment', 'release'):
        pairs = _column_values(project_ids, getattr(Event, field), since_ms, until_ms)
    elif field == 'issue':
        query = Issue.select(Issue.id, Issue.title, Issue.event_count).where(Issue.last_seen >= since_ms)
        if project_ids is not None:
            query = query.where(Issue.project.in_(project_ids))
        rows = query.order_by(Issue.event_count.desc()).limit(200)
        found = [
            Suggestion(f'issue:{i.id}', 'value', i.event_count, i.title) for i in rows if str(i.id).startswith(prefix)
        ]
        return found[:MAX_SUGGESTIONS]
    else:
        pairs = _tag_values(project_ids, field, prefix, since_ms, until_ms)
    quote = '"{}"'.format
    return [
        Suggestion(f'{field}:{quote(v) if " " in v else v}', 'value', n)
        for v, n in pairs
        if v.lower().startswith(prefix.lower())
    ][:MAX_SUGGESTIONS]


def _words(prefix: str, limit: int) -> list[Suggestion]:
    """Words of event messages, types and exceptions that start with `prefix`, most common first."""
    prefix = prefix.lower()
    db = Event._meta.database
    if not prefix or not re.fullmatch(r'\w+', prefix):
        return []
    if not is_sqlite(db):
        return _recent_words(db, prefix, limit)
    # fts5vocab over the existing indexes, in the connection's temp schema: no schema change, nothing
    # stored. The tail holds the newest events, not yet in the main index (search_index.py).
    db.execute_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.events_fts_terms USING fts5vocab(main, 'events_fts', 'row')"
    )
    terms = 'SELECT term, doc FROM temp.events_fts_terms WHERE term >= ?1 AND term < ?2'
    if refresh_tail(db):
        db.execute_sql(
            'CREATE VIRTUAL TABLE IF NOT EXISTS temp.events_fts_tail_terms '
            f"USING fts5vocab(temp, '{TAIL_TABLE}', 'row')"
        )
        terms = (
            f'SELECT term, sum(doc) AS doc FROM ({terms} UNION ALL '
            'SELECT term, doc FROM temp.events_fts_tail_terms WHERE term >= ?1 AND term < ?2) GROUP BY term'
        )
    rows = db.execute_sql(
        f'SELECT term, doc FROM ({terms}) ORDER BY doc DESC LIMIT ?3', (prefix, prefix + '\U0010ffff', limit + 1)
    ).fetchall()
    return [Suggestion(term, 'word', doc) for term, doc in rows if term != prefix][:limit]


def _recent_words(db: pw.Database, prefix: str, limit: int) -> list[Suggestion]:
    """PostgreSQL: its GIN index keeps no vocabulary to read, so words come from the newest events."""
    newest = f'SELECT {PG_DOCUMENT} FROM events ORDER BY seq DESC LIMIT {SAMPLE_EVENTS}'.replace("'", "''")
    rows = db.execute_sql(
        f"SELECT word, ndoc FROM ts_stat('{newest}') WHERE word >= %s AND word < %s ORDER BY ndoc DESC, word LIMIT %s",
        (prefix, prefix + '\U0010ffff', limit + 1),
    ).fetchall()
    return [Suggestion(term, 'word', doc) for term, doc in rows if term != prefix][:limit]


def suggest(
    text: str, caret: int | None, project_ids: list[int] | None, since_ms: int, until_ms: int
) -> list[Suggestion]:
    """Suggestions for the token under the caret (see the module docstring)."""
    start, end = token_at(text, caret)
    token = text[start:end].lstrip('-')
    field, sep, value = token.partition(':')
    if sep and field:
        field = 'environment' if field == 'env' else field
        return _values(field, value.strip('"'), project_ids, since_ms, until_ms)
    fields = [Suggestion(f'{name}:', 'field') for name in FIELDS if name.startswith(token.lower())]
    fields += [Suggestion(f'{k}:', 'field', n) for k, n in _tag_keys(project_ids, since_ms, until_ms)
               if k.lower().startswith(token.lower()) and k not in FIELDS]  # fmt: skip
    if not token:
        return fields[:MAX_SUGGESTIONS]
    fields = fields[: MAX_SUGGESTIONS // 2]
    return fields + _words(token, MAX_SUGGESTIONS - len(fields))
