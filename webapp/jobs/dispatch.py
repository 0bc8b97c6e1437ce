"""Send generation messages after commit; a broker outage never loses a job.

The row is already committed when a message is sent. If the broker is unreachable the row
stays ``queued`` -- with no ``dispatched_at``, or (for a new job, see :func:`prepare`) with a
message id Redis does not hold -- and the reconciler sends it later.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from uuid import uuid4

import dramatiq
import dramatiq.errors
import redis.exceptions
from sqlalchemy import update

from webapp.extensions import db
from webapp.jobs.models import JobStatus, VideoJob
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
DELAYED_MESSAGE = "delayed"
BROKER_ERRORS = (redis.exceptions.RedisError, dramatiq.errors.DramatiqError, OSError)


def dispatch_jobs(job_ids: Iterable[str], *, spread_seconds: float = 0.0) -> int:
    """Send one message per job and stamp ``dispatched_at``; return how many were sent.

    ``spread_seconds`` delays each message by a random share of it: jobs recovered together
    from a dead worker then run apart, so a poison job does not take the same neighbours down
    with it on every attempt.
    """
    from worker.actors import generate_video

    sent: dict[str, str] = {}
    for job_id in job_ids:
        delay = int(random.uniform(0, spread_seconds) * 1000) if spread_seconds else None
        try:
            message = generate_video.send_with_options(args=(job_id,), delay=delay)
        except BROKER_ERRORS as exc:
            log.warning("broker unavailable, job %s left for the reconciler: %s", job_id, exc)
            break
        # Redis stores each enqueued copy under its own id (``redis_message_id``). A delayed
        # message is enqueued again under a new id when it falls due, so its id cannot be
        # checked later: it is marked, and only the REDISPATCH_AFTER rule applies to it.
        sent[job_id] = (
            DELAYED_MESSAGE
            if delay
            else message.options.get("redis_message_id", message.message_id)
        )
    if sent:
        now = utcnow()
        for job_id, message_id in sent.items():
            db.session.execute(
                update(VideoJob)
                .where(VideoJob.id == job_id, VideoJob.status == JobStatus.QUEUED)
                .values(dispatched_at=now, message_id=message_id)
                .execution_options(synchronize_session=False)
            )
        db.session.commit()
    return len(sent)


def prepare(job: VideoJob) -> dramatiq.Message | None:
    """The message for a new job that is not committed yet, its Redis id already stamped on
    the row with ``dispatched_at``, so creating a job is one transaction; send it after the
    commit with :func:`send_prepared`. None with the embedded broker, whose messages have no
    id chosen in advance: use :func:`dispatch_jobs` after the commit there."""
    from worker.actors import generate_video
    from worker.broker import CHOSEN_ID, is_embedded

    if is_embedded():
        return None
    job.message_id = str(uuid4())
    job.dispatched_at = utcnow()
    return generate_video.message_with_options(args=(job.id,), **{CHOSEN_ID: job.message_id})


def send_prepared(message: dramatiq.Message) -> bool:
    """Send a message from :func:`prepare` once its row is committed. If the broker is down the
    row keeps a message id Redis does not hold, and the reconciler's lost-message check
    (:func:`worker.maintenance.missing_messages`) sends it again."""
    from worker.broker import broker

    try:
        broker.enqueue(message)
    except BROKER_ERRORS as exc:
        log.warning("broker unavailable, job %s left for the reconciler: %s", message.args[0], exc)
        return False
    return True


def send_retry(job_id: str, delay_seconds: float) -> bool:
    """Schedule another attempt; False when the broker is down (the lease expiry covers it)."""
    from worker.actors import generate_video

    try:
        generate_video.send_with_options(args=(job_id,), delay=int(delay_seconds * 1000))
    except BROKER_ERRORS as exc:
        log.warning("could not schedule retry of %s: %s", job_id, exc)
        return False
    return True
