"""The embedded default: Dramatiq worker threads inside the web process (StubBroker)."""

from __future__ import annotations

import logging

import dramatiq
from flask import Flask

from worker.broker import broker, is_embedded

log = logging.getLogger(__name__)
_worker: dramatiq.Worker | None = None


def start(app: Flask) -> dramatiq.Worker | None:
    """Start in-process worker threads (only when no Redis is configured)."""
    global _worker
    if not is_embedded() or _worker is not None:
        return _worker
    import worker.actors  # noqa: F401  (declare the queues before the worker starts)

    _worker = dramatiq.Worker(
        broker, worker_threads=app.config["EMBEDDED_WORKER_THREADS"], worker_timeout=200
    )
    _worker.start()
    log.info("embedded worker started with %d threads", app.config["EMBEDDED_WORKER_THREADS"])
    return _worker


def stop() -> None:
    global _worker
    if _worker is not None:
        _worker.stop(timeout=30_000)
        _worker = None
