"""Row ids as users type them (URL paths, query parameters, JSON fields, CLI arguments).

Row ids are signed 64-bit integers in SQLite and PostgreSQL. A longer number does not just find
nothing: the driver raises (SQLite: OverflowError; PostgreSQL: "integer out of range"), which
became a 500. And `str.isdigit()` is true for characters `int()` refuses ('²', '٣'). So every id
from outside goes through `parse_row_id` first, and anything that is not a plain decimal number
in range is no id at all.
"""

from __future__ import annotations

MAX_ROW_ID = 2**63 - 1  # the largest signed 64-bit integer
_MAX_DIGITS = len(str(MAX_ROW_ID))


def is_decimal(text: str) -> bool:
    """True for a non-empty run of ASCII digits 0-9 (unlike `str.isdigit`, which accepts '²')."""
    return text.isascii() and text.isdigit()


def parse_row_id(raw: object) -> int | None:
    """The id `raw` names (a decimal string or an int from 0 to 2**63 - 1), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_ROW_ID else None
    if not isinstance(raw, str) or not is_decimal(raw) or len(raw.lstrip('0')) > _MAX_DIGITS:
        return None
    value = int(raw)
    return value if value <= MAX_ROW_ID else None


def parse_capped(raw: str, cap: int) -> int | None:
    """A decimal string as an int no larger than `cap` (page sizes: too many means the most), else None.

    Never converts a huge string: `int()` refuses more than 4,300 digits with a ValueError."""
    if not is_decimal(raw):
        return None
    return cap if len(raw.lstrip('0')) > len(str(cap)) else min(int(raw), cap)
