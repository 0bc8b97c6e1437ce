"""The worker pipeline against a local fake of an OpenAI-compatible videos endpoint: retries
with backoff, permanent failures with full error context, no resubmission on redelivery,
cancellation of a running job. Runs on both backends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import media_files
from webapp.extensions import db
from webapp.jobs.models import JobAttempt, VideoJob
from worker.pipeline import run_job


@pytest.fixture
def app_overrides(fake):
    return {"OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-test"}


def create(client, auth, **body):
    body = {"prompt": "a storm over the sea", "provider": "openai", "seconds": "4", **body}
    response = client.post("/v1/videos", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def attempts_of(app, job_id):
    with app.app_context():
        return [
            (a.attempt, a.code, a.retryable)
            for a in db.session.scalars(
                db.select(JobAttempt).filter_by(job_id=job_id).order_by(JobAttempt.attempt)
            )
        ]


def test_two_rate_limits_then_success_completes_on_the_third_attempt(
    client, auth, app, fake, worker, settle
):
    fake.fail_next_submits(2, status=429, retry_after=0)
    video_id = create(client, auth)
    assert settle([video_id]) == {video_id: "completed"}
    video = client.get(f"/v1/videos/{video_id}", headers=auth).get_json()
    assert video["attempts"] == 3
    assert video["error"] is None
    assert attempts_of(app, video_id) == [(1, "rate_limited", True), (2, "rate_limited", True)]
    assert fake.submits() == 3
    content = client.get(f"/v1/videos/{video_id}/content", headers=auth)
    assert content.data == fake.video_bytes


def test_server_errors_are_retried_until_attempts_run_out(client, auth, app, fake, worker, settle):
    fake.fail_next(10, status=500)
    video_id = create(client, auth)
    assert settle([video_id]) == {video_id: "failed"}
    assert [a[0] for a in attempts_of(app, video_id)] == [1, 2, 3]
    with app.app_context():
        job = db.session.get(VideoJob, video_id)
        assert (job.attempts, job.max_attempts, job.error_code) == (3, 3, "http_500")


def test_permanent_error_fails_at_once_with_the_full_error_context(
    client, auth, app, fake, worker, settle
):
    fake.fail_generation("moderation_blocked", "The prompt was blocked by policy.")
    video_id = create(client, auth)
    assert settle([video_id]) == {video_id: "failed"}
    video = client.get(f"/v1/videos/{video_id}", headers=auth).get_json()
    assert video["attempts"] == 1
    assert video["error"] == {
        "code": "moderation_blocked",
        "message": "The prompt was blocked by policy.",
    }
    with app.app_context():
        job = db.session.get(VideoJob, video_id)
        error = job.job_metadata["error"]
        assert set(error) == {
            "name",
            "message",
            "stack",
            "code",
            "timestamp",
            "attemptsMade",
            "provider",
        }
        assert error["name"] == "ProviderError"
        assert error["code"] == "moderation_blocked"
        assert error["attemptsMade"] == 1
        assert error["provider"] == "openai"
        assert "Traceback (most recent call last)" in error["stack"]
        assert "worker/providers/base.py" in error["stack"]
        [attempt] = job.attempt_records
        assert attempt.context() == error


def test_auth_failure_at_the_provider_is_permanent(client, auth, app, fake, worker, settle):
    fake.api_key = "sk-rotated"
    video_id = create(client, auth)
    assert settle([video_id]) == {video_id: "failed"}
    assert attempts_of(app, video_id) == [(1, "provider_auth_failed", False)]


def test_redelivery_resumes_the_stored_provider_job_without_resubmitting(client, auth, app, fake):
    video_id = create(client, auth)
    remote = (
        fake.app.test_client()
        .post(
            "/v1/videos",
            data={"prompt": "already submitted"},
            headers={"Authorization": "Bearer sk-test"},
        )
        .get_json()
    )
    fake.requests.clear()
    with app.app_context():
        job = db.session.get(VideoJob, video_id)
        job.provider_job_id = remote["id"]
        db.session.commit()
        assert run_job(video_id) == "completed"
    assert fake.submits() == 0
    assert ("GET", f"/v1/videos/{remote['id']}", {}) in fake.requests


def test_cancelling_a_running_job_stops_it_and_the_provider_job(
    client, auth, app, fake, worker, settle
):
    fake.polls_to_complete = 3000
    video_id = create(client, auth)
    deadline = time.monotonic() + 20
    while True:
        with app.app_context():
            job = db.session.get(VideoJob, video_id)
            if job.status == "in_progress" and job.provider_job_id:
                break
        assert time.monotonic() < deadline, "job never started"
        time.sleep(0.05)
    response = client.post(f"/v1/videos/{video_id}/cancel", headers=auth)
    assert response.get_json()["status"] == "cancelled"
    remote_id = job.provider_job_id
    deadline = time.monotonic() + 10
    while ("POST", f"/v1/videos/{remote_id}/cancel", {}) not in fake.requests:
        assert time.monotonic() < deadline, "provider job was not cancelled"
        time.sleep(0.05)
    assert settle([video_id]) == {video_id: "cancelled"}
    assert list(media_files(Path(app.config["MEDIA_ROOT"]))) == []
