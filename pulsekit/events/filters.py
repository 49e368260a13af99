"""Event filters as URL query strings (so a filtered view can be bookmarked and shared), and the
check whether a freshly written event matches a filter (for live updates)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from ..ids import parse_row_id
from ..models import LEVELS, to_millis
from .facets import parse_search
from .queries import EventFilter
from .stats import TimeRange, resolve_range

FILTER_PARAMS = (
    'project', 'level', 'type', 'environment', 'release', 'tag', 'not', 'q', 'issue', 'range', 'start', 'end',
)  # fmt: skip


def _int(value: str | None) -> int | None:
    return parse_row_id(value) if value else None


def filter_from_params(
    params: Mapping[str, list[str]], default_project_id: int | None = None, *, now: datetime | None = None
) -> tuple[EventFilter, TimeRange]:
    """{'level': ['error,fatal'], 'tag': ['region:eu'], 'q': ['timeout'], 'range': ['24h'], …} → filter and range."""

    def one(name: str) -> str | None:
        values = params.get(name) or []
        return values[-1].strip() if values and values[-1].strip() else None

    time_range = resolve_range(one('range'), start=one('start'), end=one('end'), now=now)
    project = _int(one('project'))
    if project is None and one('project') != 'all':
        project = default_project_id
    levels = [lv for value in params.get('level') or [] for lv in value.split(',') if lv in LEVELS]
    tags, exclude = [], []
    for name, found in (('tag', tags), ('not', exclude)):
        for value in params.get(name) or []:
            key, sep, tag_value = value.partition(':')
            if sep and key:
                found.append((key, tag_value))
    f = EventFilter(
        project_ids=None if project is None else [project],
        levels=list(dict.fromkeys(levels)),
        type=one('type'),
        environment=one('environment'),
        release=one('release'),
        issue_id=_int(one('issue')),
        tags=tags,
        since=time_range.since,
        until=time_range.until if time_range.key == 'custom' else None,
        q=one('q'),
        exclude=exclude,
    )
    return f, time_range


def apply_search(f: EventFilter, text: str) -> EventFilter:
    """Fold a search box entry ('type:signup region:eu timeout') into a filter."""
    parsed = parse_search(text)
    f.q = parsed.text or None
    if parsed.type:
        f.type = parsed.type
    if parsed.levels:
        f.levels = list(dict.fromkeys([*f.levels, *parsed.levels]))
    if parsed.environment:
        f.environment = parsed.environment
    if parsed.release:
        f.release = parsed.release
    for tag in parsed.tags:
        if tag not in f.tags:
            f.tags.append(tag)
    f.exclude = list(dict.fromkeys([*f.exclude, *parsed.exclude]))
    return f


def params_from_filter(f: EventFilter, time_range: TimeRange, range_params: dict[str, str]) -> list[tuple[str, str]]:
    """The query string pairs for a filter (the inverse of filter_from_params)."""
    pairs: list[tuple[str, str]] = []
    if f.project_ids:
        pairs.append(('project', str(f.project_ids[0])))
    if f.levels:
        pairs.append(('level', ','.join(f.levels)))
    for name in ('type', 'environment', 'release', 'q'):
        if getattr(f, name):
            pairs.append((name, getattr(f, name)))
    if f.issue_id is not None:
        pairs.append(('issue', str(f.issue_id)))
    pairs.extend(('tag', f'{k}:{v}') for k, v in f.tags)
    pairs.extend(('not', f'{k}:{v}') for k, v in f.exclude)
    pairs.extend(range_params.items())
    return pairs


def filter_url(path: str, pairs: list[tuple[str, str]]) -> str:
    return f'{path}?{urlencode(pairs)}' if pairs else path


def event_matches(f: EventFilter, event: dict) -> bool:
    """Whether a writer summary (see bus.CommitSummary) matches the filter; full text is left to the query."""
    if f.project_ids is not None and event['project_id'] not in f.project_ids:
        return False
    if f.levels and event['level'] not in f.levels:
        return False
    for name in ('type', 'environment', 'release'):
        if getattr(f, name) and event.get(name) != getattr(f, name):
            return False
    if f.issue_id is not None and event.get('issue_id') != f.issue_id:
        return False
    tags = event.get('tags') or {}
    if any(tags.get(k) != v for k, v in f.tags):
        return False
    for key, value in f.exclude:
        if (event.get(key) if key in ('level', 'type', 'environment', 'release') else tags.get(key)) == value:
            return False
    ts = event.get('timestamp')
    if isinstance(ts, int):
        if f.since and ts < to_millis(f.since):
            return False
        if f.until and ts >= to_millis(f.until):
            return False
    return True


def is_countable(f: EventFilter) -> bool:
    """Whether the rollup can count this filter exactly (projects, levels and time only)."""
    return not (f.type or f.environment or f.release or f.issue_id or f.tags or f.q)
