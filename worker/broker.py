"""Build the Dramatiq broker once, before any actor module is imported.

``REDIS_URL`` set -> :class:`RedisBroker`; unset -> the embedded :class:`StubBroker`, whose
messages are consumed by worker threads inside the web process (``make run``).
Every message runs inside a fresh Flask app context (:class:`AppContext`).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import TYPE_CHECKING

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

if TYPE_CHECKING:
    from flask import Flask


class AppContext(Middleware):
    """Push an app context per message, pop it afterwards (so each gets a clean DB session).

    The app is the one bound with :func:`bind_app` (the web process binds its own in
    ``create_app``); a standalone worker process creates one on first use.
    """

    def __init__(self) -> None:
        self.app: Flask | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def _get_app(self) -> Flask:
        if self.app is None:
            with self._lock:
                if self.app is None:
                    from webapp import create_app

                    self.app = create_app()
        return self.app

    def before_process_message(self, broker, message) -> None:
        context = self._get_app().app_context()
        context.push()
        self._local.context = context

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        context = getattr(self._local, "context", None)
        if context is not None:
            self._local.context = None
            context.pop(exception)

    after_skip_message = after_process_message


def add_worker_metrics(target: dramatiq.Broker) -> None:
    """``WORKER_METRICS=true``: Dramatiq's Prometheus middleware serves the worker processes'
    message counters and durations on ``dramatiq_prom_port`` (default 9191, Dramatiq's own
    setting, read from the environment when the ``dramatiq`` command starts)."""
    if os.environ.get("WORKER_METRICS", "").lower() != "true":
        return
    from dramatiq.middleware.prometheus import Prometheus

    target.add_middleware(Prometheus())


CHOSEN_ID = "reelqueue_redis_id"


class ReelqueueRedisBroker(RedisBroker):
    """A :class:`RedisBroker` that stores a message under a Redis id its sender chose.

    ``RedisBroker.enqueue`` draws a fresh ``redis_message_id`` on every call. Creating a job
    stamps the id on the row in the same transaction as the INSERT (see
    :func:`webapp.jobs.dispatch.prepare`) and sends after the commit, so the id has to be
    known first. The sender's choice travels in the ``reelqueue_redis_id`` option, which is
    used once and removed: a consumed message re-sent later gets a fresh id as usual.
    """

    def enqueue(self, message, *, delay=None):
        if CHOSEN_ID not in message.options:
            return super().enqueue(message, delay=delay)
        options = dict(message.options)
        chosen = options.pop(CHOSEN_ID)
        message = dataclasses.replace(message, options=options)
        if delay is not None:  # a delayed message is re-stored under a new id when due
            return super().enqueue(message, delay=delay)
        message = message.copy(options={"redis_message_id": chosen})
        self.emit_before("enqueue", message, delay)
        self.do_enqueue(message.queue_name, chosen, message.encode())
        self.emit_after("enqueue", message, delay)
        return message


def build_broker() -> dramatiq.Broker:
    url = os.environ.get("REDIS_URL")
    if url:
        new = ReelqueueRedisBroker(
            url=url, heartbeat_timeout=60_000, dead_message_ttl=86_400_000 * 7
        )
        add_worker_metrics(new)
    else:
        new = StubBroker()
        new.emit_after("process_boot")
    context = AppContext()
    new.add_middleware(context)
    from worker.runtime import WorkerRuntime

    new.add_middleware(WorkerRuntime(context._get_app))
    dramatiq.set_broker(new)
    return new


def app_context_middleware(target: dramatiq.Broker | None = None) -> AppContext:
    for middleware in (target or broker).middleware:
        if isinstance(middleware, AppContext):
            return middleware
    raise LookupError("AppContext middleware missing")


def bind_app(app: Flask) -> None:
    """Run this process's actors inside ``app`` (called by ``create_app``)."""
    app_context_middleware().app = app


def is_embedded() -> bool:
    return isinstance(broker, StubBroker)


broker = build_broker()
