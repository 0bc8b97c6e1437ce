"""Test data factories (``gen_*`` style): rows in states the API cannot produce directly."""

from __future__ import annotations

from pathlib import Path

from webapp.extensions import db
from webapp.jobs.models import JobAttempt, VideoJob
from webapp.jobs.signatures import error_signature
from worker.providers.base import VideoSpec
from worker.providers.local import render

STACK = 'Traceback (most recent call last):\n  File "worker/pipeline.py", line 1\nProviderError: '


def gen_failure(app, job_id: str, message: str, *, code: str = "e1") -> str:
    """Turn an existing job into a failed one with one attempt and a stack trace."""
    with app.app_context():
        job = db.session.get(VideoJob, job_id)
        job.status, job.attempts, job.error_code, job.error_message = "failed", 1, code, message
        job.error_signature = error_signature("ProviderError", code, message)
        job.job_metadata = {"error": {"name": "ProviderError"}}
        db.session.add(
            JobAttempt(
                job_id=job_id,
                attempt=1,
                name="ProviderError",
                message=message,
                code=code,
                provider="local",
                retryable=True,
                stack=STACK + message,
            )
        )
        db.session.commit()
    return job_id


def gen_mp4(folder: Path, prompt: str = "fake provider output") -> bytes:
    """A real 1-second 320x180 H.264 MP4 (for the fake provider to serve)."""
    render(VideoSpec("video_x", prompt, "sora-2", 1, "320x180"), folder / "v.mp4", folder / "t.jpg")
    return (folder / "v.mp4").read_bytes()
