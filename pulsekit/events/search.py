"""Full-text search over events: turn what a user types into a safe index query."""

from __future__ import annotations

import re

import orjson
import peewee as pw

from ..db import is_sqlite
from ..models import Event
from .search_index import TAIL_MATCHES, refresh_tail

_WORD_RE = re.compile(r'[\w.:\-]+\*?', re.UNICODE)
# A "quoted phrase" or a word, either one negated by a leading '-'.
_TERM_RE = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
MAX_TERMS = 10
OPERATOR_WORDS = frozenset({'AND', 'OR', 'NOT', 'NEAR'})  # every word must match anyway


def parse_terms(text: str) -> tuple[list[str], list[str]]:
    """(terms that must match, terms that must not): `-word` excludes, `"two words"` is a phrase (kept as one
    term with its words), `word*` is a prefix. Operators and other FTS syntax are not passed through."""
    wanted: list[str] = []
    unwanted: list[str] = []
    for minus, phrase, word in _TERM_RE.findall(text or ''):
        source = phrase if phrase else word
        words = [w for w in _WORD_RE.findall(source) if w.rstrip('*') not in OPERATOR_WORDS]
        if phrase:
            words = [' '.join(w.rstrip('*') for w in words)] if words else []
        elif minus and not words:
            continue
        for term in words:
            (unwanted if minus else wanted).append(term)
    return wanted[:MAX_TERMS], unwanted[:MAX_TERMS]


def search_terms(text: str) -> list[str]:
    """Words and phrases of the query that must match (a trailing * marks a prefix)."""
    return parse_terms(text)[0]


def _fts5_term(term: str) -> str:
    prefix = term.endswith('*') and ' ' not in term
    word = term.rstrip('*').replace('"', '')
    return f'"{word}"' + ('*' if prefix else '') if word else ''


def fts5_query(terms: list[str]) -> str:
    """Each term quoted (so FTS5 syntax in user input is inert; a quoted multi-word term is a phrase), ANDed;
    `word*` stays a prefix."""
    return ' AND '.join(p for p in (_fts5_term(t) for t in terms) if p)


# The expression PostgreSQL's GIN index is built on (migration 0002): a query must repeat it exactly.
PG_DOCUMENT = (
    "to_tsvector('simple', coalesce(message, '') || ' ' || type || ' ' || coalesce(exception_type, '') || ' ' || "
    "coalesce(exception_value, ''))"
)


def _tsquery(term: str) -> pw.Node:
    """One term as a tsquery, the user's text always a bound parameter (never tsquery syntax): a word or
    phrase matches its words in order as the index split them (`app.billing` → app <-> billing);
    `word*` is a prefix."""
    if term.endswith('*') and ' ' not in term:
        word = term.rstrip('*').replace('\\', '\\\\').replace("'", "''")
        return pw.fn.to_tsquery('simple', f"'{word}':*")
    return pw.fn.phraseto_tsquery('simple', term)


def full_text_condition(db: pw.Database, text: str) -> pw.Expression | None:
    """A WHERE condition matching events whose message, type or exception contain every wanted word and
    phrase and none of the unwanted ones."""
    wanted, unwanted = parse_terms(text)
    if not wanted and not unwanted:
        return None
    if is_sqlite(db):
        has_tail = refresh_tail(db)
        conds = []
        if wanted:
            conds.append(Event.seq.in_(_fts5_matches(fts5_query(wanted), has_tail)))
        if unwanted:
            # FTS5's NOT needs a left side, so exclusions are a separate NOT IN.
            query = ' OR '.join(p for p in (_fts5_term(t) for t in unwanted) if p)
            conds.append(Event.seq.not_in(_fts5_matches(query, has_tail)))
        return conds[0] if len(conds) == 1 else conds[0] & conds[1]
    query: pw.Node | None = None
    for term in wanted:
        query = _tsquery(term) if query is None else pw.NodeList((query, pw.SQL('&&'), _tsquery(term)))
    for term in unwanted:
        excluded = pw.NodeList((pw.SQL('!!'), _tsquery(term)), glue='')
        query = excluded if query is None else pw.NodeList((query, pw.SQL('&&'), excluded))
    return pw.Expression(pw.SQL(PG_DOCUMENT), '@@', pw.NodeList((query,), parens=True))


def _fts5_matches(query: str, has_tail: bool) -> pw.SQL:
    """The seqs of the events matching an FTS5 query: the index's, and the tail's (search_index.py)."""
    if not has_tail:
        return pw.SQL('(SELECT rowid FROM events_fts WHERE events_fts MATCH ?)', (query,))
    return pw.SQL(f'(SELECT rowid FROM events_fts WHERE events_fts MATCH ? UNION ALL {TAIL_MATCHES})', (query, query))


def recent_match_seqs(db: pw.Database, text: str, limit: int) -> list[int] | None:
    """The `seq` of the newest (by arrival) events matching every word, at most `limit`; None when
    the text has no words to look up, has exclusions, or the database has no FTS5 index (PostgreSQL)."""
    wanted, unwanted = parse_terms(text)
    if not wanted or unwanted or not is_sqlite(db):
        return None
    query = fts5_query(wanted)
    newest = '(SELECT rowid FROM events_fts WHERE events_fts MATCH ? ORDER BY rowid DESC LIMIT ?)'
    if refresh_tail(db):  # the tail's events are newer than any the index holds: they come first
        newest = f'({TAIL_MATCHES} UNION ALL SELECT rowid FROM {newest} ORDER BY rowid DESC LIMIT ?)'
        params: tuple = (query, query, limit, limit)
    else:
        params = (query, limit)
    # One row, a JSON array: fetching the rowids one by one cost a GIL hand-over each, and with
    # thousands of them a search kept taking the GIL from the event loop (ingest's p99 followed).
    cursor = db.execute_sql(f'SELECT json_group_array(rowid) FROM {newest}', params)
    return orjson.loads(cursor.fetchone()[0])
