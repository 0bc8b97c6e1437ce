"""Public ids: a prefix plus a ULID-style sortable id (48-bit ms time + 80 random bits).

Sorting ids sorts by creation time, so keyset pagination needs nothing but the id.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def sortable_id(now_ms: int | None = None) -> str:
    """26 characters, lexicographically ordered by creation millisecond."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    return f"{prefix}_{sortable_id()}"
