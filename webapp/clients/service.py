"""Create, authenticate, list and revoke API clients."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from webapp.clients.models import ApiClient
from webapp.extensions import db
from webapp.timeutil import utcnow

KEY_PREFIX = "rq_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewClient:
    client: ApiClient
    key: str  # shown once, never stored


def create_client(name: str) -> NewClient:
    """Create a client and return its key; only the hash is stored."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ValueError("client name must be 1-128 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(name=name, key_prefix=key[:10], key_hash=hash_key(key))
    db.session.add(client)
    db.session.commit()
    return NewClient(client=client, key=key)


def authenticate(key: str) -> ApiClient | None:
    """The active client owning ``key``, or None. Hashes are compared in constant time."""
    if len(key) > 256:
        return None
    digest = hash_key(key)
    client = db.session.scalar(select(ApiClient).where(ApiClient.key_hash == digest))
    if client is None or not hmac.compare_digest(client.key_hash, digest):
        return None
    if client.revoked_at is not None:
        return None
    return client


def list_clients() -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.id)))


def get_client(client_id: int) -> ApiClient | None:
    return db.session.get(ApiClient, client_id)


def revoke_client(client_id: int) -> ApiClient | None:
    client = db.session.get(ApiClient, client_id)
    if client is None:
        return None
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        db.session.commit()
    return client
