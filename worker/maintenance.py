"""The reconciler: makes the broker agree with the database, which is the source of truth.

One pass (at most one at a time across all worker processes):
1. jobs whose lease expired -- their worker died, or a scheduled retry's message was lost --
   go back to ``queued`` (or ``failed`` when out of attempts) and are dispatched;
2. ``queued`` jobs never dispatched, or whose message the broker no longer has (Redis wiped or
   restarted without persistence; the embedded broker restarted), are dispatched again;
3. jobs and files past ``JOB_RETENTION_DAYS`` and idempotency keys past 24 h are deleted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.jobs import counts, lifecycle
from webapp.jobs.dispatch import DELAYED_MESSAGE, dispatch_jobs
from webapp.jobs.models import JobStatus, VideoJob
from webapp.timeutil import utcnow
from worker.locks import single_flight

log = logging.getLogger(__name__)
BATCH = 500
SEND_GRACE_SECONDS = 5.0
PROCESS_STARTED = utcnow()


@dataclass
class ReconcileReport:
    ran: bool = False
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    redispatched: list[str] = field(default_factory=list)
    cleaned: int = 0
    cleaned_storyboards: int = 0
    webhooks: int = 0
    compiles: int = 0
    seconds: float = 0.0


def reconcile_once() -> ReconcileReport:
    """Run one pass unless another process is running one."""
    config = current_app.config
    interval = float(config["RECONCILE_INTERVAL"])
    with single_flight(
        "reconcile", ttl_seconds=max(60.0, interval * 4), redis_url=config.get("REDIS_URL")
    ) as acquired:
        if not acquired:
            return ReconcileReport()
        started = time.monotonic()
        report = ReconcileReport(ran=True)
        recover_expired_leases(report)
        redispatch_lost(report)
        report.webhooks = resend_webhooks()
        report.compiles = resend_compiles()
        report.cleaned, report.cleaned_storyboards = cleanup(config["JOB_RETENTION_DAYS"])
        counts.compact()  # after cleanup: fold in its deletions too
        report.seconds = time.monotonic() - started
    if (
        report.requeued
        or report.failed
        or report.redispatched
        or report.cleaned
        or report.cleaned_storyboards
    ):
        log.info(
            "reconciled: requeued=%d failed=%d redispatched=%d cleaned=%d jobs, %d storyboards"
            " in %.2fs",
            len(report.requeued),
            len(report.failed),
            len(report.redispatched),
            report.cleaned,
            report.cleaned_storyboards,
            report.seconds,
        )
    return report


def recover_expired_leases(report: ReconcileReport) -> None:
    now = utcnow()
    jobs = db.session.scalars(
        select(VideoJob)
        .where(VideoJob.status == JobStatus.IN_PROGRESS, VideoJob.lease_expires_at < now)
        .limit(BATCH)
    ).all()
    to_dispatch = []
    for job in jobs:
        if job.attempts >= job.max_attempts:
            if lifecycle.fail_exhausted(job.id):
                report.failed.append(job.id)
            continue
        if requeue_expired(job, now):
            report.requeued.append(job.id)
            to_dispatch.append(job.id)
    if to_dispatch:
        spread = float(current_app.config["RECOVERY_SPREAD_SECONDS"])
        dispatch_jobs(to_dispatch, spread_seconds=spread if len(to_dispatch) > 1 else 0.0)


def requeue_expired(job: VideoJob, now) -> bool:
    """Back to ``queued``; a dead worker's attempt is recorded as lost."""
    abandoned = lifecycle.was_abandoned(job, now)
    result = db.session.execute(
        update(VideoJob)
        .where(
            VideoJob.id == job.id,
            VideoJob.status == JobStatus.IN_PROGRESS,
            VideoJob.lease_expires_at < now,
            VideoJob.attempts == job.attempts,
        )
        .values(
            status=JobStatus.QUEUED,
            lease_owner=None,
            lease_expires_at=None,
            dispatched_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        db.session.rollback()
        return False
    if abandoned:
        lifecycle.note_lost_attempt(job)
    db.session.commit()
    return True


def redispatch_lost(report: ReconcileReport) -> None:
    """Dispatch queued jobs that were never sent, whose message is gone, or that waited too
    long (a message held by a dead worker comes back only after Dramatiq's maintenance)."""
    now = utcnow()
    redispatch_after = float(current_app.config["REDISPATCH_AFTER"])
    rows = db.session.execute(
        select(VideoJob.id, VideoJob.message_id, VideoJob.dispatched_at)
        .where(VideoJob.status == JobStatus.QUEUED)
        .order_by(VideoJob.id)
        .limit(BATCH)
    ).all()
    # A create stamps its row just before it sends: give the send a moment before asking Redis.
    settled = now - timedelta(seconds=SEND_GRACE_SECONDS)
    stamped = [row for row in rows if row.message_id and row.dispatched_at]
    gone = missing_messages([row for row in stamped if row.dispatched_at < settled])
    ids = [
        row.id
        for row in rows
        if not (row.message_id and row.dispatched_at)
        or row.message_id in gone
        or (now - row.dispatched_at).total_seconds() > redispatch_after
    ]
    if ids:
        dispatch_jobs(ids)
        report.redispatched.extend(ids)


def missing_messages(rows) -> set[str]:
    """Message ids (of ``rows`` with ``message_id``/``dispatched_at``) the broker no longer
    holds, waiting, delayed or in flight."""
    if not rows:
        return set()
    from worker.broker import broker, is_embedded

    if is_embedded():
        # The embedded broker lives in this process: messages sent before it started are gone.
        return {row.message_id for row in rows if row.dispatched_at < PROCESS_STARTED}
    from worker.actors import generate_video

    # A delayed message gets a new id when it falls due: only REDISPATCH_AFTER covers it.
    rows = [row for row in rows if row.message_id != DELAYED_MESSAGE]
    if not rows:
        return set()
    prefix = f"{broker.namespace}:{generate_video.queue_name}"
    pipe = broker.client.pipeline(transaction=False)
    for row in rows:
        pipe.hexists(f"{prefix}.msgs", row.message_id)
        pipe.hexists(f"{prefix}.DQ.msgs", row.message_id)
    found = pipe.execute()
    return {row.message_id for i, row in enumerate(rows) if not (found[2 * i] or found[2 * i + 1])}


def resend_webhooks() -> int:
    from webapp.webhooks.delivery import resend_due

    return resend_due()


def resend_compiles() -> int:
    """Storyboards whose compile message was lost or whose compiling worker died."""
    from webapp.storyboards.models import Storyboard
    from webapp.storyboards.service import send_compile

    stale = utcnow() - timedelta(seconds=float(current_app.config["JOB_LEASE_SECONDS"]) * 5)
    ids = list(
        db.session.scalars(
            select(Storyboard.id)
            .where(
                Storyboard.compile_status.in_(["queued", "running"]), Storyboard.updated_at < stale
            )
            .limit(BATCH)
        )
    )
    for storyboard_id in ids:
        db.session.execute(
            update(Storyboard)
            .where(Storyboard.id == storyboard_id)
            .values(compile_status="queued", updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        send_compile(storyboard_id)
    return len(ids)


def cleanup(retention_days: int) -> tuple[int, int]:
    """Retention: (jobs, storyboards) deleted with their files."""
    from webapp.api.idempotency import purge_expired
    from webapp.jobs.service import cleanup_old_jobs
    from webapp.storyboards.service import cleanup_old_storyboards

    purge_expired()
    jobs = cleanup_old_jobs(retention_days)
    return jobs, cleanup_old_storyboards(retention_days)
