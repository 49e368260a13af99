"""Counts in words: '1 event', '2,000 events', '0 issues' (never 'event(s)')."""

from __future__ import annotations


def count_text(count: int, word: str, plural: str | None = None) -> str:
    """`count` with `word`, pluralised (add 's' unless `plural` is given), thousands separated."""
    return f'{count:,} {word if count == 1 else plural or word + "s"}'
