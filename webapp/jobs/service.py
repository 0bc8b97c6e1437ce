"""Video jobs: create, read, list, cancel, delete, retry, clean up.

Services take plain values and ids, never ``request``; API views, dashboard views, CLI
commands and actors all call them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from webapp.extensions import db
from webapp.ids import new_id
from webapp.jobs.dispatch import dispatch_jobs, prepare, send_prepared
from webapp.jobs.models import FINAL_STATUSES, JobAttempt, JobStatus, VideoJob
from webapp.jobs.params import VideoParams
from webapp.queries import get_owned, keyset_page
from webapp.timeutil import utcnow
from worker.storage import get_storage

log = logging.getLogger(__name__)


class JobStateError(Exception):
    """The job is not in a state that allows the requested change."""


@dataclass
class Page:
    items: list
    has_more: bool


def build_job(
    params: VideoParams,
    *,
    client_id: int | None,
    scene_index: int | None = None,
    storyboard_id: str | None = None,
) -> VideoJob:
    """A new queued job (not yet added to the session)."""
    return VideoJob(
        id=new_id("video"),
        client_id=client_id,
        storyboard_id=storyboard_id or params.storyboard_id,
        scene_index=scene_index,
        prompt=params.prompt,
        provider=params.provider,
        model=params.model,
        seconds=params.seconds,
        size=params.size,
        status=JobStatus.QUEUED,
        progress=0,
        attempts=0,
        max_attempts=current_app.config["JOB_MAX_ATTEMPTS"],
        client_metadata=dict(params.metadata),
        job_metadata={},
    )


def submit_job(params: VideoParams, *, client_id: int | None) -> VideoJob:
    """Commit the row (stamped with its message id), then send the message; a broker outage
    leaves it for the reconciler. One transaction, and the answer needs no reload."""
    job = build_job(params, client_id=client_id)
    message = prepare(job)
    db.session.add(job)
    session = db.session()
    session.expire_on_commit = False  # the row is exactly what we just wrote
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    if message is None:
        dispatch_jobs([job.id])
    else:
        send_prepared(message)
    return job


def get_job(job_id: str, *, client_id: int | None = None) -> VideoJob | None:
    """The job, or None when missing or owned by another client (``client_id`` given)."""
    return get_owned(VideoJob, job_id, client_id)


def list_jobs(
    *,
    client_id: int | None = None,
    status: str | None = None,
    storyboard_id: str | None = None,
    provider: str | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int = 20,
    order: str = "desc",
    search: str | None = None,
) -> Page:
    """Keyset page over ids (ids sort by creation time), newest first by default."""
    query = select(VideoJob)
    if client_id is not None:
        query = query.where(VideoJob.client_id == client_id)
    if status:
        query = query.where(VideoJob.status == status)
    if storyboard_id:
        query = query.where(VideoJob.storyboard_id == storyboard_id)
    if provider:
        query = query.where(VideoJob.provider == provider)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            VideoJob.prompt.ilike(pattern, escape="\\")
            | VideoJob.error_message.ilike(pattern, escape="\\")
        )
    rows, has_more = keyset_page(
        query, VideoJob.id, after=after, before=before, limit=limit, order=order
    )
    return Page(items=rows, has_more=has_more)


def list_by_storyboard(storyboard_id: str) -> list[VideoJob]:
    return list(
        db.session.scalars(
            select(VideoJob)
            .where(VideoJob.storyboard_id == storyboard_id)
            .order_by(VideoJob.scene_index)
        )
    )


def list_by_status(status: str, *, limit: int = 100) -> list[VideoJob]:
    return list_jobs(status=status, limit=limit).items


def update_job(job_id: str, **fields) -> VideoJob | None:
    job = db.session.get(VideoJob, job_id)
    if job is None:
        return None
    for name, value in fields.items():
        setattr(job, name, value)
    db.session.commit()
    return job


def cancel_job(job_id: str, *, client_id: int | None = None) -> VideoJob | None:
    """Cancel a queued or running job. A running worker stops at its next progress point."""
    job = get_job(job_id, client_id=client_id)
    if job is None:
        return None
    result = db.session.execute(
        update(VideoJob)
        .where(
            VideoJob.id == job_id,
            VideoJob.status.in_([JobStatus.QUEUED, JobStatus.IN_PROGRESS]),
        )
        .values(
            status=JobStatus.CANCELLED,
            lease_owner=None,
            lease_expires_at=None,
            completed_at=utcnow(),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        from webapp.jobs.lifecycle import commit_with_events

        commit_with_events(job_id, JobStatus.CANCELLED)
    else:
        db.session.commit()
    db.session.refresh(job)
    if result.rowcount == 0 and job.status != JobStatus.CANCELLED:
        raise JobStateError(f"Job is already {job.status} and cannot be cancelled.")
    return job


def delete_job(job_id: str, *, client_id: int | None = None) -> bool:
    """Delete the row, its attempts and its files. A running attempt's finish then fails."""
    job = get_job(job_id, client_id=client_id)
    if job is None:
        return False
    delete_rows([job_id])
    db.session.commit()
    get_storage().delete_job(job_id)
    return True


def _retry_values(now) -> dict:
    return {
        "status": JobStatus.QUEUED,
        "progress": 0,
        "lease_owner": None,
        "lease_expires_at": None,
        "dispatched_at": None,
        "completed_at": None,
        "error_code": None,
        "error_message": None,
        "error_signature": None,
        "provider_job_id": None,
        "max_attempts": VideoJob.attempts + current_app.config["JOB_MAX_ATTEMPTS"],
        "updated_at": now,
    }


def retry_job(job_id: str) -> VideoJob:
    """Operator retry: a failed (or lease-expired) job goes back to queued with the same id.

    Attempt records stay; ``max_attempts`` grows so the job gets fresh attempts.
    Raises LookupError for an unknown id, :class:`JobStateError` when not retryable.
    """
    job = db.session.get(VideoJob, job_id)
    if job is None:
        raise LookupError(job_id)
    now = utcnow()
    retryable = (VideoJob.status == JobStatus.FAILED) | (
        (VideoJob.status == JobStatus.IN_PROGRESS) & (VideoJob.lease_expires_at < now)
    )
    result = db.session.execute(
        update(VideoJob)
        .where(VideoJob.id == job_id, retryable)
        .values(**_retry_values(now))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(job)
    if result.rowcount == 0:
        raise JobStateError(f"Job is {job.status}; only failed or stalled jobs can be retried.")
    db.session.expunge(job)  # the caller sees the job as retried, not as a worker changes it
    dispatch_jobs([job_id])
    return job


def retry_failed(job_ids: list[str], *, batch: int = 500) -> list[str]:
    """Retry many failed jobs, a batch per transaction; returns the ids that were retried."""
    retried: list[str] = []
    for start in range(0, len(job_ids), batch):
        chunk = job_ids[start : start + batch]
        ids = list(
            db.session.scalars(
                select(VideoJob.id).where(
                    VideoJob.id.in_(chunk), VideoJob.status == JobStatus.FAILED
                )
            )
        )
        if not ids:
            continue
        db.session.execute(
            update(VideoJob)
            .where(VideoJob.id.in_(ids), VideoJob.status == JobStatus.FAILED)
            .values(**_retry_values(utcnow()))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        dispatch_jobs(ids)
        retried += ids
    return retried


def delete_rows(job_ids: list[str]) -> None:
    """Delete jobs and their attempt rows, uncommitted: the caller commits, then deletes the
    files (a failed commit must not leave rows whose files are gone)."""
    db.session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(job_ids)))
    db.session.execute(
        delete(VideoJob)
        .where(VideoJob.id.in_(job_ids))
        .execution_options(synchronize_session=False)
    )


def cleanup_old_jobs(days: int, *, batch: int = 500) -> int:
    """Delete final jobs created more than ``days`` ago, and their files (the seed's
    ``cleanupOldJobs``). Runs in batches so a large backlog never holds one long lock."""
    cutoff = utcnow() - timedelta(days=days)
    storage = get_storage()
    deleted = 0
    while True:
        ids = list(
            db.session.scalars(
                select(VideoJob.id)
                .where(VideoJob.created_at < cutoff, VideoJob.status.in_(FINAL_STATUSES))
                .limit(batch)
            )
        )
        if not ids:
            return deleted
        delete_rows(ids)
        db.session.commit()
        for job_id in ids:
            storage.delete_job(job_id)
        deleted += len(ids)
