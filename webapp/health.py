"""The web process's own cheap probe: process up and database reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 naming the failed check otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify({"status": "error", "checks": {"database": type(exc).__name__}}), 503
    return jsonify({"status": "ok", "checks": {"database": "ok"}})
