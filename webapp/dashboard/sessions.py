"""Dashboard sessions: a signed cookie pointing at a server-side ``admin_sessions`` row.

The cookie (Flask's itsdangerous-signed session) holds the session id, the CSRF token and a
fingerprint of the admin key. The row makes logout real (a stolen cookie stops working), and
enforces idle and absolute expiry. Rotating the admin key ends every session.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import current_app, request, session

from webapp.admin.auth import key_fingerprint
from webapp.admin.models import AdminSession
from webapp.extensions import db
from webapp.timeutil import utcnow

TOUCH_EVERY = timedelta(seconds=30)


def start_session() -> AdminSession:
    """Log in: a fresh session id and CSRF token (the old cookie's content is dropped)."""
    session.clear()
    row = AdminSession(
        id=secrets.token_urlsafe(32),
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:255],
    )
    db.session.add(row)
    db.session.commit()
    session["sid"] = row.id
    session["csrf"] = secrets.token_urlsafe(32)
    session["kfp"] = key_fingerprint()
    session.permanent = True
    return row


def current_session() -> AdminSession | None:
    """The live session for this request, or None (expired, ended, forged or old key)."""
    sid = session.get("sid")
    if not sid or session.get("kfp") != key_fingerprint():
        return None
    row = db.session.get(AdminSession, sid)
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    config = current_app.config
    if now - row.last_seen_at > timedelta(minutes=config["SESSION_IDLE_MINUTES"]):
        return None
    if now - row.created_at > timedelta(hours=config["SESSION_MAX_HOURS"]):
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return row


def end_session() -> None:
    sid = session.get("sid")
    if sid:
        row = db.session.get(AdminSession, sid)
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            db.session.commit()
    session.clear()


def csrf_token() -> str:
    return session.get("csrf", "")


def csrf_valid(candidate: str | None) -> bool:
    expected = session.get("csrf")
    return bool(candidate and expected and hmac.compare_digest(candidate, expected))
