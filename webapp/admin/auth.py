"""The admin key: ``Authorization: Bearer <ADMIN_API_KEY>`` for the admin API, and the key
typed into the dashboard's login form. Never accepted in a query string; never logged."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps

from flask import current_app, jsonify, request

UNAUTHORIZED_BODY = {"error": "Unauthorized. Admin authentication required."}


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def is_admin_key(candidate: str | None) -> bool:
    """Constant-time comparison of SHA-256 digests (so the length does not leak either)."""
    expected = current_app.config.get("ADMIN_API_KEY")
    if not candidate or not expected:
        return False
    return hmac.compare_digest(_digest(candidate), _digest(expected))


def key_fingerprint() -> str:
    """Short hash of the current admin key: sessions made under an old key stop working."""
    return hashlib.sha256(("session:" + current_app.config["ADMIN_API_KEY"]).encode()).hexdigest()[
        :16
    ]


def require_admin_key(view: Callable) -> Callable:
    """401 with the seed's exact body unless the bearer token is the admin key."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not is_admin_key(token.strip()):
            return jsonify(UNAUTHORIZED_BODY), 401, {"WWW-Authenticate": "Bearer"}
        return view(*args, **kwargs)

    return wrapped
