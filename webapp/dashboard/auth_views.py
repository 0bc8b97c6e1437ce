"""Login and logout."""

from __future__ import annotations

import logging
import secrets

from flask import current_app, redirect, render_template, request, session, url_for

from webapp.admin import audit
from webapp.admin.auth import is_admin_key
from webapp.dashboard import bp, guard, ratelimit  # noqa: F401  (guard registers the hook)
from webapp.dashboard.sessions import end_session, start_session

log = logging.getLogger(__name__)


def safe_next(target: str | None) -> str:
    """Only local dashboard paths, so the login cannot be used as an open redirect."""
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return url_for("dashboard.overview")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The admin-key form; a signed session cookie on success. Rate limited per address."""
    if request.method != "POST":  # GET, and HEAD (which skipped the CSRF checks)
        session.setdefault("csrf", secrets.token_urlsafe(32))
        return render_template("login.html", next=request.args.get("next", ""))
    address = request.remote_addr or "unknown"
    allowed, retry_after = ratelimit.hit(address)
    if not allowed:
        log.warning("login rate limit hit from %s", address)
        return (
            render_template("login.html", error="Too many attempts. Wait a minute.", status=429),
            429,
            {"Retry-After": str(retry_after)},
        )
    if not is_admin_key(request.form.get("admin_key", "").strip()):
        log.warning("failed dashboard login from %s", address)
        audit.record("login.failed", actor="anonymous", ip=address)
        return render_template("login.html", error="That key is not the admin key."), 401
    ratelimit.reset(address)
    row = start_session()
    audit.record("login", actor=f"admin:{row.id[:8]}", ip=address)
    current_app.logger.info("dashboard login from %s", address)
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    """End the session server-side, so the old cookie no longer works."""
    audit.record("logout", actor=actor(), ip=request.remote_addr)
    end_session()
    return redirect(url_for("dashboard.login"))


def actor() -> str:
    sid = session.get("sid", "")
    return f"admin:{sid[:8]}" if sid else "admin"
