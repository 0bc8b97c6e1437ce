"""Job counts by status (and provider), and failed jobs by error signature, at any table size.

Triggers on ``video_jobs`` (migration ``0003_job_counts``) append a row of deltas to
``job_status_counts`` for every insert, delete and change of status (or of a failed job's
signature); reads sum them. The reconciler folds the rows into one per key with
:func:`compact`, so a read sums a few dozen rows instead of scanning every job.
"""

from __future__ import annotations

from sqlalchemy import Select, delete, func, insert, literal_column, select

from webapp.extensions import db
from webapp.jobs.models import JobStatus, VideoJob, job_status_counts

counts = job_status_counts


def count_by_status() -> dict[str, int]:
    """Jobs per status (every status present, zero when none)."""
    result = {s.value: 0 for s in JobStatus}
    for status, total in db.session.execute(
        select(counts.c.status, func.sum(counts.c.delta)).group_by(counts.c.status)
    ):
        result[status] = int(total)
    return result


def count_by_status_and_provider() -> dict[tuple[str, str], int]:
    """Jobs per (status, provider), for the pairs that have any."""
    total = func.sum(counts.c.delta)
    rows = db.session.execute(
        select(counts.c.status, counts.c.provider, total)
        .group_by(counts.c.status, counts.c.provider)
        .having(total != 0)
    )
    return {(status, provider): int(n) for status, provider, n in rows}


def failed_by_signature(limit: int) -> Select:
    """(error_signature, n) for the ``limit`` largest groups of failed jobs, largest first."""
    total = func.sum(counts.c.delta).label("n")
    return (
        select(counts.c.error_signature, total)
        .where(counts.c.status == JobStatus.FAILED)
        .group_by(counts.c.error_signature)
        .having(total > 0)
        .order_by(total.desc(), counts.c.error_signature)
        .limit(limit)
    )


def compact() -> None:
    """Fold the appended deltas into one row per key and commit."""
    key = (counts.c.status, counts.c.provider, counts.c.error_signature)
    if db.engine.dialect.name == "postgresql":
        # One statement: rows appended by transactions that commit meanwhile are not in its
        # snapshot, so they are neither deleted nor summed.
        db.session.execute(
            db.text(
                "WITH gone AS (DELETE FROM job_status_counts"
                " RETURNING status, provider, error_signature, delta)"
                " INSERT INTO job_status_counts (status, provider, error_signature, delta)"
                " SELECT status, provider, error_signature, sum(delta) FROM gone"
                " GROUP BY status, provider, error_signature HAVING sum(delta) <> 0"
            )
        )
    else:  # SQLite has one writer at a time: sum and delete up to the highest id seen
        top = db.session.execute(select(func.max(counts.c.id))).scalar()
        if top is None:
            return
        total = func.sum(counts.c.delta)
        db.session.execute(
            insert(counts).from_select(
                ["status", "provider", "error_signature", "delta"],
                select(*key, total).where(counts.c.id <= top).group_by(*key).having(total != 0),
            )
        )
        db.session.execute(delete(counts).where(counts.c.id <= top))
    db.session.commit()


def rebuild() -> dict[str, int]:
    """Recount from ``video_jobs`` (after a bulk load with triggers off, say) and commit."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("LOCK TABLE video_jobs IN SHARE MODE"))
    signature = db.case(
        (VideoJob.status == JobStatus.FAILED, VideoJob.error_signature),
        else_=literal_column("NULL"),
    )
    db.session.execute(delete(counts))
    db.session.execute(
        insert(counts).from_select(
            ["status", "provider", "error_signature", "delta"],
            select(VideoJob.status, VideoJob.provider, signature, func.count()).group_by(
                VideoJob.status, VideoJob.provider, signature
            ),
        )
    )
    db.session.commit()
    return count_by_status()
