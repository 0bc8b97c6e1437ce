"""``dramatiq bench.proposed_worker_entry``: ``bench.worker_entry`` plus the worker-path
changes proposed in bench/RESULTS.md, patched in (the app's files are untouched), so
``pipeline`` can measure the proposal next to the code as it is:

1. ``claim``: one small SELECT for the abandoned check + ``UPDATE ... RETURNING`` the row,
   handed back detached (no ``get`` + ``get`` + ``refresh`` after the commit, and no reload
   when ``run_job`` reads ``job.id`` after a progress commit);
2. ``RunContext.progress`` does not write 100 %: ``complete`` sets ``progress = 100`` in its
   fenced UPDATE a moment later (lease extension writes are unchanged);
3. ``complete``: ``RETURNING client_id`` feeds the webhook outbox, instead of a
   SELECT after the UPDATE.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

import bench.worker_entry  # noqa: F401  (null provider, gate, actors)
import worker.pipeline as pipeline
from webapp.extensions import db
from webapp.jobs import lifecycle
from webapp.jobs.models import JobStatus, VideoJob
from webapp.timeutil import utcnow


def claim(job_id: str, owner: str, *, lease_seconds: float):
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
        lost = lifecycle._lost_attempt(job, now)
        lost.attempt, lost.worker = job.attempts - 1, before.lease_owner
        db.session.add(lost)
    db.session.expunge(job)  # a snapshot of the claimed row: the commit does not expire it
    db.session.commit()
    return job


def complete(job_id, owner, *, video_path, thumbnail_path, retention_days) -> bool:
    now = utcnow()
    row = db.session.execute(
        update(VideoJob)
        .where(lifecycle._fenced(job_id, owner))
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
        .returning(VideoJob.client_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        db.session.rollback()
        return False
    from webapp.webhooks.events import add_event, send_deliveries

    deliveries = add_event(
        row.client_id, "video.completed", {"id": job_id, "object": "video", "status": "completed"}
    )
    db.session.commit()
    send_deliveries(deliveries)
    return True


def progress(self, percent: float) -> None:
    value = max(0, min(100, int(percent)))
    now = time.monotonic()
    advanced = value > self._saved
    due = now - self._last_write >= pipeline.PROGRESS_WRITE_INTERVAL
    lease_due = now - self._last_write >= self.lease_seconds / 3
    if not ((advanced and due and value < 100) or lease_due):
        return
    held = lifecycle.save_progress(
        self.job_id,
        self.owner,
        progress=value if advanced else None,
        lease_seconds=self.lease_seconds,
    )
    self._last_write = now
    if not held:
        raise pipeline.JobAbandoned(f"job {self.job_id} was cancelled or its lease was lost")
    if advanced:
        self._saved = value


lifecycle.claim = claim
lifecycle.complete = complete
pipeline.RunContext.progress = progress
