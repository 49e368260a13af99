"""Tag keys per project: every key seen with its number of values and events, and the project's choice
to hide a noisy key from the facets or pin an important one first (the `tag_keys` table)."""

from __future__ import annotations

import peewee as pw

from ..errors import InvalidField
from ..models import TagCountHourly, TagKey

HOUR_MS = 3_600_000


def list_tag_keys(project_id: int, since_ms: int = 0) -> list[dict]:
    """Each tag key of a project seen since `since_ms`: values (distinct), events, hidden, pinned; pinned first."""
    rows = (
        TagCountHourly.select(
            TagCountHourly.key, pw.fn.COUNT(TagCountHourly.value.distinct()), pw.fn.SUM(TagCountHourly.count)
        )
        .where(TagCountHourly.project == project_id, TagCountHourly.hour >= since_ms // HOUR_MS * HOUR_MS)
        .group_by(TagCountHourly.key)
        .tuples()
    )
    choices = {t.key: t for t in TagKey.select().where(TagKey.project == project_id)}
    keys = []
    for key, values, events in rows:
        choice = choices.get(key)
        hidden, pinned = bool(choice and choice.is_hidden), bool(choice and choice.is_pinned)
        keys.append(
            {'key': key, 'values': int(values), 'events': int(events or 0), 'is_hidden': hidden, 'is_pinned': pinned}
        )
    return sorted(keys, key=lambda k: (not k['is_pinned'], k['is_hidden'], -k['events'], k['key']))


def set_tag_key(project_id: int, key: str, *, is_hidden: bool | None = None, is_pinned: bool | None = None) -> dict:
    """Hide or pin a key (a pinned key is never hidden, and the other way round)."""
    if not isinstance(key, str) or not key or len(key) > 64:
        raise InvalidField('key must be a tag key of at most 64 characters', 'key')
    current = TagKey.get_or_none(TagKey.project == project_id, TagKey.key == key)
    hidden = bool(current and current.is_hidden) if is_hidden is None else is_hidden
    pinned = bool(current and current.is_pinned) if is_pinned is None else is_pinned
    if is_pinned:
        hidden = False
    elif is_hidden:
        pinned = False
    TagKey.insert(project=project_id, key=key, is_hidden=hidden, is_pinned=pinned).on_conflict(
        conflict_target=[TagKey.project, TagKey.key], update={TagKey.is_hidden: hidden, TagKey.is_pinned: pinned}
    ).execute()
    return {'key': key, 'is_hidden': hidden, 'is_pinned': pinned}


def key_choices(project_ids: list[int] | None) -> tuple[set[str], list[str]]:
    """(hidden keys, pinned keys) for the facets: only when one project is chosen (keys are per project)."""
    if not project_ids or len(project_ids) != 1:
        return set(), []
    rows = list(TagKey.select().where(TagKey.project == project_ids[0]))
    return {r.key for r in rows if r.is_hidden}, sorted(r.key for r in rows if r.is_pinned)
