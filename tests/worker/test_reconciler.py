"""The reconciler on both backends: lost messages, expired leases, poison stop, retention."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from webapp.extensions import db
from webapp.jobs.models import JobAttempt, VideoJob
from webapp.timeutil import utcnow
from worker import maintenance
from worker.broker import broker as module_broker
from worker.broker import is_embedded


def queued(client, auth, n=1):
    return [
        client.post(
            "/v1/videos", json={"prompt": f"r{i}", "seconds": "1", "size": "320x180"}, headers=auth
        ).get_json()["id"]
        for i in range(n)
    ]


def wipe_broker():
    """Lose every message: FLUSHDB on the test Redis database, or empty the embedded broker."""
    if is_embedded():
        module_broker.flush_all()
    else:
        module_broker.client.flushdb()


def test_messages_lost_from_the_broker_are_redispatched(client, auth, app, broker, settle):
    ids = queued(client, auth, 5)
    wipe_broker()
    with app.app_context():
        # A create stamps its row just before it sends: not "lost" within the grace.
        assert maintenance.reconcile_once().redispatched == []
        sent_at = utcnow() - timedelta(seconds=maintenance.SEND_GRACE_SECONDS + 1)
        if is_embedded():  # in-process broker: a restart is what loses messages
            sent_at = min(sent_at, maintenance.PROCESS_STARTED - timedelta(seconds=1))
        db.session.execute(db.update(VideoJob).values(dispatched_at=sent_at))
        db.session.commit()
        report = maintenance.reconcile_once()
    assert sorted(report.redispatched) == sorted(ids)
    import dramatiq

    w = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    w.start()
    try:
        assert set(settle(ids).values()) == {"completed"}
    finally:
        w.stop()


def test_jobs_never_dispatched_are_sent(client, auth, app, broker):
    [job_id] = queued(client, auth)
    with app.app_context():
        job = db.session.get(VideoJob, job_id)
        job.dispatched_at, job.message_id = None, None
        db.session.commit()
        assert maintenance.reconcile_once().redispatched == [job_id]
        assert db.session.get(VideoJob, job_id).message_id is not None


def test_messages_still_in_the_broker_are_not_sent_twice(client, auth, app, broker):
    queued(client, auth, 3)
    with app.app_context():
        assert maintenance.reconcile_once().redispatched == []


def expire(app, job_id, *, attempts, owner="dead-worker"):
    with app.app_context():
        job = db.session.get(VideoJob, job_id)
        job.status, job.attempts, job.lease_owner = "in_progress", attempts, owner
        job.lease_expires_at = utcnow() - timedelta(seconds=5)
        db.session.commit()


def test_expired_leases_go_back_to_queued_and_complete(client, auth, app, worker, settle):
    [job_id] = queued(client, auth)
    settle([job_id])
    expire(app, job_id, attempts=1)
    with app.app_context():
        report = maintenance.reconcile_once()
    assert report.requeued == [job_id]
    assert settle([job_id]) == {job_id: "completed"}
    with app.app_context():
        job = db.session.get(VideoJob, job_id)
        assert job.attempts == 2
        [lost] = job.attempt_records
        assert (lost.attempt, lost.code, lost.worker) == (1, "worker_lost", "dead-worker")


def test_expired_lease_on_the_last_attempt_fails_the_job(client, auth, app, broker):
    [job_id] = queued(client, auth)
    expire(app, job_id, attempts=3)
    with app.app_context():
        assert maintenance.reconcile_once().failed == [job_id]
        job = db.session.get(VideoJob, job_id)
        assert (job.status, job.error_code) == ("failed", "worker_lost")
        assert job.job_metadata["error"]["attemptsMade"] == 3
        assert db.session.scalar(db.select(db.func.count()).select_from(JobAttempt)) == 1


def test_old_jobs_and_their_files_are_deleted(client, auth, app, worker, settle):
    old, new = queued(client, auth, 2)
    settle([old, new])
    with app.app_context():
        job = db.session.get(VideoJob, old)
        job.created_at = utcnow() - timedelta(days=app.config["JOB_RETENTION_DAYS"] + 1)
        db.session.commit()
        assert maintenance.reconcile_once().cleaned == 1
        assert db.session.get(VideoJob, old) is None
        assert db.session.get(VideoJob, new) is not None
    media = Path(app.config["MEDIA_ROOT"]) / "jobs"
    assert not (media / old).exists()
    assert (media / new / "video.mp4").exists()


def test_only_one_pass_at_a_time(app, broker):
    from worker.locks import single_flight

    with (
        app.app_context(),
        single_flight("reconcile", ttl_seconds=30, redis_url=app.config.get("REDIS_URL")) as held,
    ):
        assert held
        assert maintenance.reconcile_once().ran is False
    with app.app_context():
        assert maintenance.reconcile_once().ran is True


def test_cli_requeue_stuck_and_queue_stats(client, auth, app, runner, broker):
    [job_id] = queued(client, auth)
    expire(app, job_id, attempts=1)
    result = runner.invoke(args=["jobs", "requeue-stuck"])
    assert "Requeued 1, failed 0." in result.output
    stats = runner.invoke(args=["queue", "stats"])
    assert "queued=1" in stats.output


def test_jittered_dispatches_are_not_sent_again_before_they_fall_due(client, auth, app, broker):
    ids = queued(client, auth, 2)
    with app.app_context():
        from webapp.jobs.dispatch import DELAYED_MESSAGE, dispatch_jobs

        dispatch_jobs(ids, spread_seconds=5)
        assert {db.session.get(VideoJob, i).message_id for i in ids} == {DELAYED_MESSAGE}
        assert maintenance.reconcile_once().redispatched == []
