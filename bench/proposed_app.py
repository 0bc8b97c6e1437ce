"""``gunicorn -c gunicorn.conf.py bench.proposed_app:app``: the real app with the create-path
change proposed in bench/RESULTS.md applied by monkeypatching (the app's files are untouched),
so ``api_create`` can measure the proposal next to the code as it is.

The proposal: one transaction per create instead of two, and no reload of the row to answer.
The Redis message id is chosen before the commit and stored in the INSERT (with
``dispatched_at``), then the message is enqueued under that id; if the send fails the
reconciler finds the message missing and re-sends, as it does for a wiped Redis today.
"""

from __future__ import annotations

import logging
from uuid import uuid4

from wsgi import app  # noqa: F401  (the real app, as gunicorn would load it)

log = logging.getLogger("bench.proposed")


def _enqueue_keeping_id(broker, message) -> None:
    """What ``ReelqueueRedisBroker.enqueue`` (proposed) does for a message with a chosen id."""
    broker.emit_before("enqueue", message, None)
    broker.do_enqueue(message.queue_name, message.options["redis_message_id"], message.encode())
    broker.emit_after("enqueue", message, None)


def submit_job(params, *, client_id):
    from webapp.extensions import db
    from webapp.jobs.dispatch import BROKER_ERRORS
    from webapp.jobs.service import build_job
    from webapp.timeutil import utcnow
    from worker.actors import generate_video
    from worker.broker import broker

    job = build_job(params, client_id=client_id)
    message = generate_video.message(job.id).copy(options={"redis_message_id": str(uuid4())})
    job.message_id = message.options["redis_message_id"]
    job.dispatched_at = utcnow()
    db.session.add(job)
    session = db.session()
    session.expire_on_commit = False  # the row is what we just wrote: answer without a reload
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    try:
        _enqueue_keeping_id(broker, message)
    except BROKER_ERRORS as exc:
        log.warning("broker unavailable, job %s left for the reconciler: %s", job.id, exc)
    return job


def cached_authenticate(seconds: float):
    """Optional second proposal (``BENCH_AUTH_CACHE_SECONDS``): remember a valid key's client
    for a few seconds per process, so a create costs no client lookup. Trade-off: a revoked
    key keeps working for up to that long in each web process."""
    import threading
    import time

    import webapp.clients.service as clients

    original = clients.authenticate
    cache: dict[str, tuple[object, float]] = {}
    lock = threading.Lock()

    def authenticate(key: str):
        digest = clients.hash_key(key)
        now = time.monotonic()
        with lock:
            hit = cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        client = original(key)
        if client is not None:
            from webapp.extensions import db

            db.session.expunge(client)  # a read-only snapshot: only ``.id`` is used
            with lock:
                cache[digest] = (client, now + seconds)
        return client

    return authenticate


def _install() -> None:
    import os

    import webapp.clients.service
    import webapp.jobs.service
    from worker.broker import is_embedded

    if not is_embedded():
        webapp.jobs.service.submit_job = submit_job
    seconds = float(os.environ.get("BENCH_AUTH_CACHE_SECONDS", "0") or 0)
    if seconds > 0:
        webapp.clients.service.authenticate = cached_authenticate(seconds)


_install()
