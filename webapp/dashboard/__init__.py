"""The operator dashboard (HTMX, server-rendered) behind the admin-key login."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from webapp.dashboard import auth_views, views  # noqa: E402, F401  (register routes)
