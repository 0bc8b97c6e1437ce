"""Admin API: the exact 401 body, queue stats, operator retry (both backends)."""

from __future__ import annotations

import pytest

from tests.support.dashboard import ADMIN_KEY
from webapp.extensions import db
from webapp.jobs.models import JobAttempt, VideoJob

UNAUTHORIZED = {"error": "Unauthorized. Admin authentication required."}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key-but-long-enough-xxxxxxxxxxxxxxxx"},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"Authorization": ADMIN_KEY},
        {"Authorization": f"Bearer {ADMIN_KEY[:-1]}"},
    ],
)
def test_without_the_admin_key_the_body_is_exactly_the_seeds(client, headers):
    for method, path in [("get", "/api/admin/queue"), ("post", "/api/admin/queue/retry/video_x")]:
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 401
        assert response.get_json() == UNAUTHORIZED


def test_the_key_in_a_query_string_is_not_accepted(client):
    response = client.get(f"/api/admin/queue?api_key={ADMIN_KEY}&key={ADMIN_KEY}")
    assert response.status_code == 401


def test_queue_stats_report_counts_workers_and_health(client, auth, worker, settle):
    created = [
        client.post(
            "/v1/videos", json={"prompt": f"p{i}", "seconds": "1", "size": "320x180"}, headers=auth
        ).get_json()["id"]
        for i in range(3)
    ]
    settle(created)
    stats = client.get("/api/admin/queue", headers=ADMIN).get_json()
    assert stats["jobs"]["completed"] == 3
    assert stats["jobs"]["queued"] == 0
    assert {q["name"] for q in stats["queues"]} >= {"videos", "maintenance"}
    videos = next(q for q in stats["queues"] if q["name"] == "videos")
    assert set(videos) == {"name", "waiting", "delayed", "in_flight", "dead_lettered"}
    assert stats["oldest_queued_age_seconds"] is None
    assert len(stats["workers"]) >= 1
    assert stats["workers"][0]["last_beat"] > 0
    assert stats["health"] == {"healthy": True, "reasons": []}


def test_queue_stats_without_workers_is_unhealthy_with_a_reason(client, auth, broker):
    client.post("/v1/videos", json={"prompt": "waiting"}, headers=auth)
    stats = client.get("/api/admin/queue", headers=ADMIN).get_json()
    assert stats["jobs"]["queued"] == 1
    assert stats["oldest_queued_age_seconds"] >= 0
    assert stats["healthy"] is False
    assert "no worker heartbeat" in stats["reasons"]


def fail_job(app, job_id):
    with app.app_context():
        job = db.session.get(VideoJob, job_id)
        job.status, job.attempts, job.error_code, job.error_message = "failed", 3, "x", "boom"
        db.session.add(
            JobAttempt(
                job_id=job_id,
                attempt=3,
                name="RuntimeError",
                message="boom",
                stack="Traceback...",
                code="x",
                provider="local",
            )
        )
        db.session.commit()


def test_retry_via_the_admin_api_requeues_then_completes(client, auth, app, worker, settle):
    job_id = client.post(
        "/v1/videos", json={"prompt": "retry me", "seconds": "1", "size": "320x180"}, headers=auth
    ).get_json()["id"]
    settle([job_id])
    fail_job(app, job_id)
    response = client.post(f"/api/admin/queue/retry/{job_id}", headers=ADMIN)
    assert response.status_code == 200
    assert response.get_json()["job"]["status"] == "queued"
    assert response.get_json()["job"]["id"] == job_id
    assert settle([job_id]) == {job_id: "completed"}
    with app.app_context():
        job = db.session.get(VideoJob, job_id)
        assert job.attempts == 4, "attempt history continues"
        assert len(job.attempt_records) == 1, "old attempt rows kept"


def test_retry_unknown_is_404_and_not_failed_is_409(client, auth):
    assert client.post("/api/admin/queue/retry/video_nope", headers=ADMIN).status_code == 404
    job_id = client.post("/v1/videos", json={"prompt": "queued"}, headers=auth).get_json()["id"]
    response = client.post(f"/api/admin/queue/retry/{job_id}", headers=ADMIN)
    assert response.status_code == 409
