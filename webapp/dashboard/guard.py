"""Every dashboard request: signed in (except login and static), CSRF on state changes,
and cross-site requests refused outright."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, g, redirect, request, url_for

from webapp.dashboard import bp
from webapp.dashboard.sessions import csrf_valid, current_session

PUBLIC_ENDPOINTS = {"dashboard.login"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def cross_site() -> bool:
    """True when the browser says the request comes from another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        return f"{parts.scheme}://{parts.netloc}" != request.host_url.rstrip("/")
    return origin == "null"


@bp.before_request
def guard():
    if request.method not in SAFE_METHODS:
        if cross_site():
            abort(403, "Cross-site request refused.")
        token = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
        if not csrf_valid(token):
            abort(403, "Missing or invalid CSRF token. Reload the page and try again.")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    g.admin_session = current_session()
    if g.admin_session is None:
        target = url_for("dashboard.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": target}
        return redirect(target)
    return None
