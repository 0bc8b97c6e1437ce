"""The job life cycle as conditional UPDATEs: claim, progress, finish, fail.

Each transition is one UPDATE whose WHERE clause states the only states it may start from, so
concurrent deliveries, a cancel, an operator retry and the reconciler cannot interleave into an
impossible state. ``rowcount`` says whether this caller won.

- claim: ``queued`` (or ``in_progress`` with an expired lease) and ``attempts < max_attempts``
  -> ``in_progress``, ``attempts + 1``, lease owner and expiry. Counting at claim means a job
  that kills its worker still runs out of attempts.
- progress / lease extension / finish are fenced on ``lease_owner`` and ``in_progress``.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from webapp.extensions import db
from webapp.jobs.models import JobAttempt, JobStatus, VideoJob
from webapp.jobs.signatures import error_signature
from webapp.timeutil import utcnow


@dataclass(frozen=True)
class ErrorContext:
    """The seed's error shape: name, message, stack, code, timestamp, attemptsMade, provider."""

    name: str
    message: str
    stack: str
    code: str | None
    retryable: bool
    retry_after: float | None = None

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, retryable: bool, code: str | None
    ) -> ErrorContext:
        return cls(
            name=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            stack="".join(traceback.format_exception(exc)),
            code=code,
            retryable=retryable,
            retry_after=getattr(exc, "retry_after", None),
        )


def _fenced(job_id: str, owner: str):
    return and_(
        VideoJob.id == job_id,
        VideoJob.status == JobStatus.IN_PROGRESS,
        VideoJob.lease_owner == owner,
    )


def _execute(statement) -> int:
    result = db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


def claim(job_id: str, owner: str, *, lease_seconds: float) -> VideoJob | None:
    """Take the job for ``owner``; None when another delivery has it or it is final.

    Returns a detached snapshot of the claimed row (``UPDATE ... RETURNING``): reading it
    after later commits costs no query.
    """
    now = utcnow()
    before = db.session.execute(
        select(VideoJob.status, VideoJob.lease_owner, VideoJob.lease_expires_at).where(
            VideoJob.id == job_id
        )
    ).one_or_none()
    if before is None:
        db.session.rollback()
        return None
    abandoned = (
        before.status == JobStatus.IN_PROGRESS
        and before.lease_owner is not None
        and before.lease_expires_at is not None
        and before.lease_expires_at < now
    )
    job = db.session.scalars(
        update(VideoJob)
        .where(
            VideoJob.id == job_id,
            VideoJob.attempts < VideoJob.max_attempts,
            or_(
                VideoJob.status == JobStatus.QUEUED,
                and_(
                    VideoJob.status == JobStatus.IN_PROGRESS,
                    or_(VideoJob.lease_expires_at.is_(None), VideoJob.lease_expires_at < now),
                ),
            ),
        )
        .values(
            status=JobStatus.IN_PROGRESS,
            attempts=VideoJob.attempts + 1,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            started_at=db.func.coalesce(VideoJob.started_at, now),
            updated_at=now,
        )
        .returning(VideoJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).one_or_none()
    if job is None:
        db.session.rollback()
        return None
    if abandoned:
        lost = _lost_attempt(job, now)
        lost.attempt, lost.worker = job.attempts - 1, before.lease_owner
        db.session.add(lost)
    db.session.expunge(job)
    db.session.commit()
    return job


WORKER_LOST_MESSAGE = (
    "The worker running this attempt stopped before finishing it "
    "(killed, out of memory, or shut down)."
)


def _lost_attempt(job: VideoJob, now) -> JobAttempt:
    return JobAttempt(
        job_id=job.id,
        attempt=job.attempts,
        name="WorkerLost",
        message=WORKER_LOST_MESSAGE,
        stack="",
        code="worker_lost",
        provider=job.provider,
        retryable=True,
        worker=job.lease_owner,
        timestamp=now,
    )


def was_abandoned(job: VideoJob, now=None) -> bool:
    """In progress, held by a worker, lease expired: that worker died mid-attempt."""
    now = now or utcnow()
    return (
        job.status == JobStatus.IN_PROGRESS
        and job.lease_owner is not None
        and job.lease_expires_at is not None
        and job.lease_expires_at < now
    )


def note_lost_attempt(job: VideoJob) -> None:
    """Record the attempt a dead worker left behind (call before re-claiming or failing)."""
    db.session.add(_lost_attempt(job, utcnow()))


def fail_exhausted(job_id: str) -> bool:
    """A job whose worker died during its last attempt fails for good (the poison-job stop)."""
    job = db.session.get(VideoJob, job_id)
    now = utcnow()
    if job is None or not was_abandoned(job, now) or job.attempts < job.max_attempts:
        return False
    context = {
        "name": "WorkerLost",
        "message": WORKER_LOST_MESSAGE,
        "stack": "",
        "code": "worker_lost",
        "timestamp": now.isoformat(),
        "attemptsMade": job.attempts,
        "provider": job.provider,
    }
    result = db.session.execute(
        update(VideoJob)
        .where(
            VideoJob.id == job_id,
            VideoJob.status == JobStatus.IN_PROGRESS,
            VideoJob.lease_owner == job.lease_owner,
            VideoJob.lease_expires_at < now,
        )
        .values(
            status=JobStatus.FAILED,
            lease_owner=None,
            lease_expires_at=None,
            completed_at=now,
            updated_at=now,
            error_code="worker_lost",
            error_message=WORKER_LOST_MESSAGE,
            error_signature=error_signature("WorkerLost", "worker_lost", WORKER_LOST_MESSAGE),
            job_metadata={**(job.job_metadata or {}), "error": context},
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        db.session.rollback()
        return False
    db.session.add(_lost_attempt(job, now))
    commit_with_events(job_id, JobStatus.FAILED)
    return True


def save_progress(job_id: str, owner: str, *, progress: int | None, lease_seconds: float) -> bool:
    """Save progress (never backwards) and extend the lease. False = stop working."""
    now = utcnow()
    values: dict[str, Any] = {
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "updated_at": now,
    }
    if progress is not None:
        values["progress"] = (
            db.func.max(VideoJob.progress, progress)
            if _is_sqlite()
            else (db.func.greatest(VideoJob.progress, progress))
        )
    return bool(_execute(update(VideoJob).where(_fenced(job_id, owner)).values(**values)))


def remember_provider_job(job_id: str, owner: str, provider_job_id: str) -> bool:
    return bool(
        _execute(
            update(VideoJob)
            .where(_fenced(job_id, owner))
            .values(provider_job_id=provider_job_id, updated_at=utcnow())
        )
    )


def complete(
    job_id: str, owner: str, *, video_path: str, thumbnail_path: str | None, retention_days: int
) -> bool:
    """Mark completed; only the lease holder of an ``in_progress`` job may. The webhook event
    is written in the same transaction."""
    now = utcnow()
    row = db.session.execute(
        update(VideoJob)
        .where(_fenced(job_id, owner))
        .values(
            status=JobStatus.COMPLETED,
            progress=100,
            video_path=video_path,
            thumbnail_path=thumbnail_path,
            completed_at=now,
            expires_at=now + timedelta(days=retention_days),
            lease_owner=None,
            lease_expires_at=None,
            error_code=None,
            error_message=None,
            updated_at=now,
        )
        .returning(VideoJob.client_id, VideoJob.storyboard_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        db.session.rollback()
        return False
    commit_with_events(job_id, JobStatus.COMPLETED, row)
    return True


def commit_with_events(job_id: str, status: str, row=None) -> None:
    """Write the job's webhook event (and its storyboard's, when this decides it) in the
    current transaction, commit, then hand the deliveries to the broker. ``row`` (client_id,
    storyboard_id) saves the lookup when the caller's UPDATE returned it."""
    from webapp.storyboards.service import storyboard_event_for_scene
    from webapp.webhooks.events import add_event, send_deliveries

    if row is None:
        row = db.session.execute(
            select(VideoJob.client_id, VideoJob.storyboard_id).where(VideoJob.id == job_id)
        ).one_or_none()
    deliveries = []
    if row is not None:
        event_type = {
            "completed": "video.completed",
            "failed": "video.failed",
            "cancelled": "video.cancelled",
        }[status]
        deliveries = add_event(
            row.client_id, event_type, {"id": job_id, "object": "video", "status": status}
        )
        if row.storyboard_id and status == JobStatus.FAILED:
            deliveries += storyboard_event_for_scene(row.storyboard_id)
    db.session.commit()
    send_deliveries(deliveries)


def record_failure(
    job: VideoJob, owner: str, error: ErrorContext, *, worker: str, retry_delay: float | None
) -> str:
    """Store the failed attempt; then either schedule a retry or fail the job.

    Returns ``"retry"`` (job stays ``in_progress``, lease set to expire when the retry is
    due, so the retry message -- or the reconciler if it is lost -- can claim it),
    ``"failed"``, or ``"lost"`` when this worker no longer holds the job.
    """
    now = utcnow()
    context = {
        "name": error.name,
        "message": error.message,
        "stack": error.stack,
        "code": error.code,
        "timestamp": now.isoformat(),
        "attemptsMade": job.attempts,
        "provider": job.provider,
    }
    will_retry = error.retryable and retry_delay is not None and job.attempts < job.max_attempts
    values: dict[str, Any] = {
        "error_code": error.code,
        "error_message": error.message,
        "error_signature": error_signature(error.name, error.code, error.message),
        "job_metadata": {**(job.job_metadata or {}), "error": context},
        "updated_at": now,
    }
    if will_retry:
        values.update(lease_owner=None, lease_expires_at=now + timedelta(seconds=retry_delay))
    else:
        values.update(
            status=JobStatus.FAILED, lease_owner=None, lease_expires_at=None, completed_at=now
        )
    result = db.session.execute(
        update(VideoJob)
        .where(_fenced(job.id, owner))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        db.session.rollback()
        return "lost"
    db.session.add(
        JobAttempt(
            job_id=job.id,
            attempt=job.attempts,
            name=error.name[:128],
            message=error.message,
            stack=error.stack,
            code=(error.code or None) and error.code[:64],
            provider=job.provider,
            retryable=error.retryable,
            worker=worker,
            timestamp=now,
        )
    )
    if will_retry:
        db.session.commit()
        return "retry"
    commit_with_events(job.id, JobStatus.FAILED)
    return "failed"


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def current_status(job_id: str) -> str | None:
    job = db.session.get(VideoJob, job_id)
    if job is None:
        return None
    db.session.refresh(job)
    return job.status
