"""Logging: JSON lines in production (with request id / job id), plain text in development."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from flask import Flask, g, has_app_context, has_request_context

job_context: ContextVar[tuple[str, int] | None] = ContextVar("job_context", default=None)


class ContextFilter(logging.Filter):
    """Adds ``request_id`` (in a request) and ``job_id``/``attempt`` (in a job) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = (
                g.get("request_id") if has_app_context() and has_request_context() else None
            )
        job = job_context.get()
        record.job_id, record.attempt = job if job else (None, None)
        return True


def configure_logging(app: Flask) -> None:
    root = logging.getLogger()
    if getattr(root, "_reelqueue_configured", False):
        return
    # A process runner may already have a plain stream handler on the root logger (the
    # dramatiq CLI routes each worker process's logs through one): reuse it, or lines double.
    existing = [h for h in root.handlers if type(h) is logging.StreamHandler]
    handler = existing[0] if existing else logging.StreamHandler(sys.stderr)
    if app.config["LOG_FORMAT"] == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s "
                "%(attempt)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ContextFilter())
    if not existing:
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    root._reelqueue_configured = True  # type: ignore[attr-defined]
