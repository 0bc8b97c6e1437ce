"""Error signatures: failures that differ only in ids, numbers or quoted values group together."""

from __future__ import annotations

import hashlib
import re

_PATTERNS = [
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'…'"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (re.compile(r"\b[a-z]+_[0-9a-z]{10,}\b"), "<id>"),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalise_message(message: str) -> str:
    text = message[:500]
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text.strip()


def error_signature(name: str, code: str | None, message: str) -> str:
    """A stable 16-hex-digit id for (error name, code, normalised message)."""
    basis = f"{name}\x1f{code or ''}\x1f{normalise_message(message)}"
    return hashlib.sha256(basis.encode()).hexdigest()[:16]
