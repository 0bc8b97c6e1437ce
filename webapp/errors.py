"""Error handlers: the job API answers in its envelope, the admin API in the seed's shape,
the dashboard with a page; a database outage is a 503, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from webapp.api.errors import ApiError, error_response, from_http_exception
from webapp.extensions import db

log = logging.getLogger(__name__)


def wants_api_envelope() -> bool:
    return request.path.startswith("/v1")


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/healthz", "/metrics"))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_api_envelope():
            return error_response(from_http_exception(exc))
        if wants_json():
            return jsonify({"error": exc.description or exc.name}), exc.code
        if exc.code and exc.code >= 400 and request.path.startswith("/dashboard"):
            return render_template(
                "error.html", status=exc.code, message=exc.description or exc.name
            ), exc.code
        return exc

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_down(exc: Exception):
        _rollback()
        log.error("database unavailable: %s", type(exc).__name__)
        return unavailable("The database is unavailable. Try again shortly.")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        _rollback()
        log.exception("unhandled error")
        if wants_api_envelope():
            return error_response(ApiError(500, "Internal error.", type="api_error"))
        if wants_json():
            return jsonify({"error": "Internal error."}), 500
        return render_template("error.html", status=500, message="Something went wrong."), 500


def unavailable(message: str):
    if wants_api_envelope():
        return error_response(
            ApiError(503, message, type="api_error", headers={"Retry-After": "5"})
        )
    if wants_json():
        return jsonify({"error": message}), 503, {"Retry-After": "5"}
    return render_template("error.html", status=503, message=message), 503


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone
        log.debug("rollback failed", exc_info=True)
