"""The trigger-kept job counts (migration 0003) follow every change, on both databases.

The ``app`` fixture also checks, after every test in the suite, that the counts still match
``video_jobs``; these tests name the changes one by one and check the reads built on them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.support import services
from tests.support.factories import gen_failure
from webapp.extensions import db
from webapp.jobs import counts, lifecycle, service
from webapp.jobs.models import JobStatus, VideoJob, job_status_counts
from webapp.jobs.params import VideoParams
from webapp.timeutil import utcnow

PARAMS = VideoParams(
    prompt="count me", provider="local", model="sora-2", seconds="1", size="320x180"
)


def truth() -> dict[str, int]:
    result = {s.value: 0 for s in JobStatus}
    result.update(
        db.session.execute(select(VideoJob.status, func.count()).group_by(VideoJob.status)).all()
    )
    return result


def delta_rows() -> int:
    return db.session.execute(select(func.count()).select_from(job_status_counts)).scalar()


def submit(n: int) -> list[str]:
    return [service.submit_job(PARAMS, client_id=None).id for _ in range(n)]


def test_counts_follow_create_claim_progress_complete_cancel_delete(app):
    with app.app_context():
        ids = submit(4)
        assert counts.count_by_status()["queued"] == 4
        lifecycle.claim(ids[0], "w1", lease_seconds=30)
        lifecycle.claim(ids[1], "w1", lease_seconds=30)
        assert counts.count_by_status() == truth()
        assert counts.count_by_status()["in_progress"] == 2

        rows = delta_rows()
        assert lifecycle.save_progress(ids[0], "w1", progress=40, lease_seconds=30)
        assert delta_rows() == rows, "a progress/lease write appends no count row"

        lifecycle.complete(
            ids[0], "w1", video_path="jobs/x/video.mp4", thumbnail_path=None, retention_days=7
        )
        service.cancel_job(ids[2])
        assert service.delete_job(ids[3])
        assert (
            counts.count_by_status()
            == truth()
            == {
                "queued": 0,
                "in_progress": 1,
                "completed": 1,
                "failed": 0,
                "cancelled": 1,
            }
        )


def test_failed_jobs_are_counted_by_signature_and_retry_moves_them_back(app):
    with app.app_context():
        ids = submit(4)
    for job_id in ids[:3]:
        gen_failure(app, job_id, "timeout after 30s")
    gen_failure(app, ids[3], "content policy")
    with app.app_context():
        groups = db.session.execute(counts.failed_by_signature(10)).all()
        assert [n for _, n in groups] == [3, 1]
        service.retry_job(ids[0])
        groups = db.session.execute(counts.failed_by_signature(10)).all()
        assert [n for _, n in groups] == [2, 1]
        assert counts.count_by_status()["queued"] == 1
        assert counts.count_by_status()["failed"] == 3


def test_failure_groups_report_first_and_last_seen_and_the_latest_sample(app):
    with app.app_context():
        ids = submit(3)
    for job_id in ids:
        gen_failure(app, job_id, "boom")
    base = utcnow() - timedelta(hours=3)
    with app.app_context():
        for hours, job_id in zip((2, 0, 1), ids, strict=True):  # the middle job failed first
            db.session.execute(
                update(VideoJob)
                .where(VideoJob.id == job_id)
                .values(completed_at=base + timedelta(hours=hours))
            )
        db.session.commit()
        from webapp.dashboard.service import failure_groups

        (group,) = failure_groups()
        assert group.count == 3
        assert group.first_seen == base
        assert group.last_seen == base + timedelta(hours=2)
        assert group.sample.id == ids[0], "the sample is the latest failure, not the newest id"


def test_compact_folds_rows_to_one_per_key_and_keeps_the_totals(app):
    with app.app_context():
        ids = submit(6)
        for job_id in ids[:3]:
            lifecycle.claim(job_id, "w1", lease_seconds=30)
        service.cancel_job(ids[5])
        before = counts.count_by_status()
        assert delta_rows() > 3
        counts.compact()
        assert counts.count_by_status() == before == truth()
        assert delta_rows() == 3, "one row each for queued, in_progress and cancelled"
        counts.compact()
        assert delta_rows() == 3


def test_cleanup_deletes_are_counted_and_the_reconciler_compacts(app):
    from worker.maintenance import reconcile_once

    with app.app_context():
        ids = submit(3)
        service.cancel_job(ids[0])
        db.session.execute(
            update(VideoJob)
            .where(VideoJob.id == ids[0])
            .values(created_at=utcnow() - timedelta(days=30))
        )
        db.session.commit()
        report = reconcile_once()
        assert report.cleaned == 1
        assert counts.count_by_status() == truth()
        assert counts.count_by_status()["cancelled"] == 0
        assert delta_rows() == 1, "compacted to the one queued row"


def test_rebuild_and_the_recount_command_repair_lost_counts(app, runner):
    with app.app_context():
        ids = submit(2)
        service.cancel_job(ids[0])
        db.session.execute(job_status_counts.delete())  # as after a bulk load with triggers off
        db.session.commit()
        assert services.count_drift(db) != []
    result = runner.invoke(args=["jobs", "recount"])
    assert result.exit_code == 0, result.output
    assert "queued 1" in result.output and "cancelled 1" in result.output
    with app.app_context():
        assert services.count_drift(db) == []


@pytest.mark.parametrize("statement", ["insert", "delete"])
def test_one_statement_over_many_rows_is_counted(app, statement):
    """Bulk statements (a retention sweep, a data load) are counted too."""
    with app.app_context():
        ids = submit(5)
        if statement == "delete":
            db.session.execute(VideoJob.__table__.delete().where(VideoJob.id.in_(ids[:4])))
        else:
            rows = [
                {
                    **{c: getattr(job, c) for c in ("prompt", "provider", "model", "seconds")},
                    "id": f"{job.id}x",
                    "size": job.size,
                    "status": "completed",
                    "progress": 100,
                    "attempts": 1,
                    "max_attempts": 3,
                    "client_metadata": {},
                    "job_metadata": {},
                }
                for job in db.session.scalars(select(VideoJob))
            ]
            db.session.execute(VideoJob.__table__.insert(), rows)
        db.session.commit()
        assert counts.count_by_status() == truth()


def test_counts_by_status_and_provider_feed_the_metrics(app):
    from dataclasses import replace

    with app.app_context():
        submit(2)
        other = service.submit_job(replace(PARAMS, provider="openai"), client_id=None)
        lifecycle.claim(other.id, "w1", lease_seconds=30)
        assert counts.count_by_status_and_provider() == {
            ("queued", "local"): 2,
            ("in_progress", "openai"): 1,
        }
