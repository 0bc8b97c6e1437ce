"""Data for the dashboard pages, kept apart from the views (which only render it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, cast, func, select

from webapp.extensions import db
from webapp.jobs import counts
from webapp.jobs.models import JobAttempt, JobStatus, VideoJob
from webapp.queries import keyset_page
from webapp.timeutil import utcnow

BUCKET_SECONDS = 300
WINDOW_SECONDS = 3600


@dataclass
class Bucket:
    start: datetime
    completed: int = 0
    failed: int = 0


@dataclass
class FailureGroup:
    signature: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    sample: VideoJob | None


def _epoch_bucket(column):
    if db.engine.dialect.name == "sqlite":
        seconds = cast(func.strftime("%s", column), Integer)
    else:
        seconds = cast(func.extract("epoch", column), Integer)
    return cast(seconds / BUCKET_SECONDS, Integer)


def throughput(now: datetime | None = None) -> list[Bucket]:
    """Completed and failed jobs per 5-minute bucket over the last hour (12 buckets)."""
    now = now or utcnow()
    first = int(now.timestamp()) // BUCKET_SECONDS - WINDOW_SECONDS // BUCKET_SECONDS + 1
    buckets = {
        first + i: Bucket(datetime.fromtimestamp((first + i) * BUCKET_SECONDS, UTC))
        for i in range(WINDOW_SECONDS // BUCKET_SECONDS)
    }
    since = datetime.fromtimestamp(first * BUCKET_SECONDS, UTC)
    bucket = _epoch_bucket(VideoJob.completed_at)
    rows = db.session.execute(
        select(VideoJob.status, bucket.label("bucket"), func.count())
        .where(
            VideoJob.status.in_([JobStatus.COMPLETED, JobStatus.FAILED]),
            VideoJob.completed_at >= since,
        )
        .group_by(VideoJob.status, bucket)
    )
    for status, index, count in rows:
        if index in buckets:
            setattr(buckets[index], status, count)
    return list(buckets.values())


def drain_estimate(waiting: int, buckets: list[Bucket]) -> float | None:
    """Seconds to empty the queue at the last 15 minutes' completion rate."""
    recent = buckets[-3:]
    done = sum(b.completed + b.failed for b in recent)
    if waiting == 0:
        return 0.0
    if done == 0:
        return None
    return waiting / (done / (len(recent) * BUCKET_SECONDS))


def failure_groups(limit: int = 50) -> list[FailureGroup]:
    """Failed jobs grouped by error signature, largest group first.

    The group sizes come from the trigger-kept counts; first/last seen and the latest sample
    are probes of the partial index on failed jobs' signatures, so the page costs the same
    whatever the number of failed jobs.
    """
    groups = counts.failed_by_signature(limit).subquery()

    def in_group():
        return (VideoJob.status == JobStatus.FAILED) & (
            VideoJob.error_signature == groups.c.error_signature
        )

    first = select(func.min(VideoJob.completed_at)).where(in_group()).scalar_subquery()
    last = select(func.max(VideoJob.completed_at)).where(in_group()).scalar_subquery()
    sample = (
        select(VideoJob.id)
        .where(in_group())
        .order_by(VideoJob.completed_at.desc(), VideoJob.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(groups.c.error_signature, groups.c.n, first, last, sample).order_by(
            groups.c.n.desc(), groups.c.error_signature
        )
    ).all()
    samples = {
        job.id: job
        for job in db.session.scalars(select(VideoJob).where(VideoJob.id.in_([r[4] for r in rows])))
    }
    return [
        FailureGroup(signature or "", int(count), first, last, samples.get(sample_id))
        for signature, count, first, last, sample_id in rows
    ]


def failed_jobs(signature: str | None, *, after: str | None = None, limit: int = 25):
    """A keyset page of failed jobs, optionally of one signature, without attempt rows."""
    query = select(VideoJob).where(VideoJob.status == JobStatus.FAILED)
    if signature:
        query = query.where(VideoJob.error_signature == signature)
    return keyset_page(query, VideoJob.id, after=after, limit=limit)


def attempts(job_id: str) -> list[JobAttempt]:
    return list(
        db.session.scalars(
            select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.attempt)
        )
    )


def failed_ids_for_signature(signature: str, *, batch: int = 500, after: str | None = None):
    query = select(VideoJob.id).where(
        VideoJob.status == JobStatus.FAILED, VideoJob.error_signature == signature
    )
    if after:
        query = query.where(VideoJob.id > after)
    return list(db.session.scalars(query.order_by(VideoJob.id).limit(batch)))


def since(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)
