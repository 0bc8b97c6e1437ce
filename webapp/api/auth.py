"""Bearer-key authentication for the job API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request

from webapp.api.errors import ApiError
from webapp.clients import service as clients


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_client(view: Callable) -> Callable:
    """Resolve the calling client from ``Authorization: Bearer <key>`` or answer 401."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = bearer_token()
        if token is None:
            raise ApiError(
                401,
                "Missing API key. Send it as 'Authorization: Bearer <key>'.",
                code="missing_api_key",
            )
        client = clients.authenticate(token)
        if client is None:
            raise ApiError(401, "Invalid or revoked API key.", code="invalid_api_key")
        g.client = client
        return view(*args, **kwargs)

    return wrapped
