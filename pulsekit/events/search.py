"""Full-text search over events: turn what a user types into a safe index query."""

from __future__ import annotations

import re

import peewee as pw

from ..db import is_sqlite
from ..models import Event

_WORD_RE = re.compile(r'[\w.:\-]+\*?', re.UNICODE)
MAX_TERMS = 10
OPERATOR_WORDS = frozenset({'AND', 'OR', 'NOT', 'NEAR'})  # every word must match anyway


def search_terms(text: str) -> list[str]:
    """Words of the query (a trailing * marks a prefix); operators and quotes are not passed through."""
    words = [w for w in _WORD_RE.findall(text or '') if w.rstrip('*') not in OPERATOR_WORDS]
    return words[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """Each term quoted (so FTS5 syntax in user input is inert), ANDed; `word*` stays a prefix."""
    parts = []
    for term in terms:
        prefix = term.endswith('*')
        word = term.rstrip('*').replace('"', '')
        if word:
            parts.append(f'"{word}"' + ('*' if prefix else ''))
    return ' AND '.join(parts)


def full_text_condition(db: pw.Database, text: str) -> pw.Expression | None:
    """A WHERE condition matching events whose message, type or exception contain every word."""
    terms = search_terms(text)
    if not terms:
        return None
    if is_sqlite(db):
        query = fts5_query(terms)
        return Event.seq.in_(pw.SQL('(SELECT rowid FROM events_fts WHERE events_fts MATCH ?)', (query,)))
    document = pw.SQL(
        "to_tsvector('simple', coalesce(message, '') || ' ' || type || ' ' || coalesce(exception_type, '') || ' ' || "
        "coalesce(exception_value, ''))"
    )
    tsquery = ' & '.join(t.rstrip('*') + (':*' if t.endswith('*') else '') for t in terms)
    return pw.Expression(document, '@@', pw.fn.to_tsquery('simple', tsquery))
