"""Tag facets (the top values of each tag key for the current filter) and search suggestions.

When the filter is only projects and time (the usual view), facets are exact and read the
hourly tag rollup, plus raw events for the partial hours at the edges. Any other filter
(level, type, text, tag…) counts the tags of the latest SAMPLE_EVENTS matching events, so the
cost stays bounded whatever the data size; the result says when it was sampled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import peewee as pw

from ..db import is_sqlite
from ..models import LEVELS, Event, TagCountHourly, to_millis
from .queries import EventFilter, event_conditions
from .tag_keys import key_choices

HOUR_MS = 3_600_000
TOP_VALUES = 5
TOP_KEYS = 8
SAMPLE_EVENTS = 5000
SUGGESTION_EVENTS = 5000
MAX_SUGGESTIONS = 300
RESERVED_KEYS = ('type', 'level', 'environment', 'release')
_TOKEN_RE = re.compile(r'([^\s":]+):(\S+|"[^"]*"?)')


@dataclass
class Facets:
    keys: dict[str, list[tuple[str, int]]]  # key → [(value, count)], most frequent first
    is_sampled: bool = False


def _is_rollup_filter(f: EventFilter) -> bool:
    return not (f.levels or f.type or f.environment or f.release or f.issue_id or f.tags or f.q)


def _tag_pairs_sql(db: pw.Database, seq_query: pw.Query) -> tuple[str, list]:
    sql, params = seq_query.sql()
    if is_sqlite(db):
        pairs = 'FROM events AS e, json_each(e.tags) AS t'
    else:
        pairs = 'FROM events AS e, jsonb_each_text(CAST(e.tags AS jsonb)) AS t'
    return (
        f'SELECT t.key, t.value, COUNT(*) {pairs} WHERE e.tags IS NOT NULL AND e.seq IN ({sql}) GROUP BY 1, 2',
        list(params),
    )


def _raw_counts(db: pw.Database, seq_query: pw.Query) -> dict[tuple[str, str], int]:
    sql, params = _tag_pairs_sql(db, seq_query)
    return {(k, str(v)): int(n) for k, v, n in db.execute_sql(sql, params).fetchall()}


def _rollup_counts(db: pw.Database, f: EventFilter) -> dict[tuple[str, str], int]:
    since_ms = to_millis(f.since) if f.since else None
    until_ms = to_millis(f.until) if f.until else None
    first_hour = -(-since_ms // HOUR_MS) * HOUR_MS if since_ms is not None else None
    last_hour = until_ms // HOUR_MS * HOUR_MS if until_ms is not None else None
    counts: dict[tuple[str, str], int] = {}

    def add(part: dict) -> None:
        for pair, n in part.items():
            counts[pair] = counts.get(pair, 0) + n

    if first_hour is not None and last_hour is not None and last_hour <= first_hour:
        add(_raw_counts(db, Event.select(Event.seq).where(*event_conditions(f))))
        return counts
    conds = []
    if f.project_ids is not None:
        conds.append(TagCountHourly.project.in_(f.project_ids))
    if first_hour is not None:
        conds.append(TagCountHourly.hour >= first_hour)
        edge = replace(f, until=None)
        edge_conds = [*event_conditions(edge), Event.timestamp < first_hour]
        add(_raw_counts(db, Event.select(Event.seq).where(*edge_conds)))
    if last_hour is not None:
        conds.append(TagCountHourly.hour < last_hour)
        edge = replace(f, since=None)
        edge_conds = [*event_conditions(edge), Event.timestamp >= last_hour]
        add(_raw_counts(db, Event.select(Event.seq).where(*edge_conds)))
    query = TagCountHourly.select(TagCountHourly.key, TagCountHourly.value, pw.fn.SUM(TagCountHourly.count)).group_by(
        TagCountHourly.key, TagCountHourly.value
    )
    if conds:
        query = query.where(*conds)
    add({(k, v): int(n) for k, v, n in query.tuples()})
    return counts


def tag_facets(f: EventFilter, top: int = TOP_VALUES) -> Facets:
    """The most frequent values of the most used tag keys among the events matching `f`."""
    db = Event._meta.database
    if _is_rollup_filter(f):
        counts, sampled = _rollup_counts(db, f), False
    else:
        conds = event_conditions(f)
        sample = Event.select(Event.seq).order_by(Event.timestamp.desc(), Event.seq.desc()).limit(SAMPLE_EVENTS)
        if conds:
            sample = sample.where(*conds)
        counts, sampled = _raw_counts(db, sample), True
    by_key: dict[str, list[tuple[str, int]]] = {}
    totals: dict[str, int] = {}
    for (key, value), n in counts.items():
        if n > 0:
            by_key.setdefault(key, []).append((value, n))
            totals[key] = totals.get(key, 0) + n
    hidden, pinned = key_choices(f.project_ids)
    keys = sorted((k for k in by_key if k not in hidden), key=lambda k: (k not in pinned, -totals[k], k))[:TOP_KEYS]
    return Facets({k: sorted(by_key[k], key=lambda vn: (-vn[1], vn[0]))[:top] for k in keys}, sampled)


def search_suggestions(project_ids: list[int] | None, since_ms: int) -> list[str]:
    """What the search box offers: `type:…` for recent event types, `key:` and `key:value` for tags seen."""
    recent = Event.select(Event.type).order_by(Event.timestamp.desc()).limit(SUGGESTION_EVENTS)
    if project_ids is not None:
        recent = recent.where(Event.project.in_(project_ids))
    types = sorted({t for (t,) in recent.tuples()})
    tags = TagCountHourly.select(TagCountHourly.key, TagCountHourly.value, pw.fn.SUM(TagCountHourly.count)).where(
        TagCountHourly.hour >= since_ms // HOUR_MS * HOUR_MS
    )
    if project_ids is not None:
        tags = tags.where(TagCountHourly.project.in_(project_ids))
    pairs = tags.group_by(TagCountHourly.key, TagCountHourly.value).order_by(pw.fn.SUM(TagCountHourly.count).desc())
    top_pairs = list(pairs.limit(MAX_SUGGESTIONS).tuples())
    keys = sorted({f'{k}:' for k, _, _ in top_pairs})
    values = [f'{k}:{v}' for k, v, _ in top_pairs]
    return [f'type:{t}' for t in types] + [f'level:{level}' for level in LEVELS] + keys + values


@dataclass
class ParsedSearch:
    text: str = ''  # the words for the full-text index ("phrases" and -excluded words included)
    type: str | None = None
    levels: list[str] = field(default_factory=list)
    environment: str | None = None
    release: str | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)
    exclude: list[tuple[str, str]] = field(default_factory=list)  # -level:debug → ('level', 'debug')


# A token: optional '-', optional 'key:', then a "quoted value" or a bare one.
_QUERY_TOKEN_RE = re.compile(r'-?(?:[^\s":]+:)?"[^"]*"?|\S+')


def _unquote(value: str) -> str:
    return value[1:].rstrip('"') if value.startswith('"') else value


def parse_search(query: str) -> ParsedSearch:
    """'type:signup level:error -env:staging region:eu "card declined" timeout' → filters, exclusions and the
    free text for the full-text index. Field values may be quoted: `release:"shop 2.4"`."""
    parsed = ParsedSearch()
    words = []
    for token in _QUERY_TOKEN_RE.findall(query or ''):
        is_negated = token.startswith('-') and len(token) > 1
        match = _TOKEN_RE.fullmatch(token[1:] if is_negated else token)
        if not match:
            words.append(token)
            continue
        key, value = match.group(1), _unquote(match.group(2))
        key = 'environment' if key == 'env' else key
        if key == 'level' and value not in LEVELS:
            words.append(token)
        elif is_negated and (key in RESERVED_KEYS or re.fullmatch(r'[A-Za-z0-9_.\-]+', key)):
            parsed.exclude.append((key, value))
        elif key == 'type':
            parsed.type = value
        elif key == 'level':
            parsed.levels.append(value)
        elif key == 'environment':
            parsed.environment = value
        elif key == 'release':
            parsed.release = value
        elif re.fullmatch(r'[A-Za-z0-9_.\-]+', key):
            parsed.tags.append((key, value))
        else:
            words.append(token)
    parsed.text = ' '.join(words)
    return parsed
