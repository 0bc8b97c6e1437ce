"""``Idempotency-Key`` (Stripe semantics) for create endpoints.

Same key + same request -> the first response is replayed; same key + another request -> 422;
the first request still running -> 409. Validation failures (4xx) are not stored, so a client
can fix its request and reuse the key. Keys are kept at least 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import Response, g, make_response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from webapp.api.errors import ApiError
from webapp.api.models import IdempotencyRecord
from webapp.extensions import db
from webapp.timeutil import utcnow

STALE_IN_FLIGHT = timedelta(seconds=60)
KEEP_FOR = timedelta(hours=24)


def request_fingerprint() -> str:
    """Hash of method, path and the parsed body, so multipart boundaries do not matter."""
    from webapp.api.inputs import json_body

    if request.is_json:
        body = json_body()
    else:  # a multipart part without a name has the key None
        body = sorted((k or "", request.form.getlist(k)) for k in request.form)
    canonical = json.dumps([request.method, request.path, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _begin(client_id: int, key: str, fingerprint: str) -> IdempotencyRecord | Response:
    record = IdempotencyRecord(client_id=client_id, key=key, fingerprint=fingerprint)
    db.session.add(record)
    try:
        db.session.commit()
        return record
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key
        )
    )
    if existing is None:  # deleted between our insert and read: try once more
        return _begin(client_id, key, fingerprint)
    if existing.fingerprint != fingerprint:
        raise ApiError(
            422,
            "This Idempotency-Key was already used with a different request.",
            code="idempotency_key_reused",
            param="Idempotency-Key",
        )
    if existing.in_flight:
        if utcnow() - existing.created_at < STALE_IN_FLIGHT:
            raise ApiError(
                409,
                "A request with this Idempotency-Key is still in progress.",
                code="idempotency_key_in_use",
                headers={"Retry-After": "1"},
            )
        existing.created_at = utcnow()  # the first request died; take it over
        db.session.commit()
        return existing
    response = Response(
        existing.response_body, status=existing.response_status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _forget(record_id: int) -> None:
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
    db.session.commit()


def idempotent(view: Callable) -> Callable:
    """Apply Idempotency-Key semantics to a create view (after :func:`require_client`)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not key.strip() or len(key) > 255 or not key.isprintable():
            raise ApiError(
                400, "Idempotency-Key must be 1-255 printable characters.", param="Idempotency-Key"
            )
        begun = _begin(g.client.id, key, request_fingerprint())
        if isinstance(begun, Response):
            return begun
        record_id = begun.id
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            _forget(record_id)
            raise
        if response.status_code >= 400:
            _forget(record_id)
            return response
        record = db.session.get(IdempotencyRecord, record_id)
        record.in_flight = False
        record.response_status = response.status_code
        record.response_body = response.get_data(as_text=True)
        db.session.commit()
        return response

    return wrapped


def purge_expired() -> int:
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - KEEP_FOR)
    )
    db.session.commit()
    return result.rowcount
