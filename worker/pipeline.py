"""Run one delivery of a generation message: claim, generate, store, finish or fail.

At-least-once delivery is made exactly-once in effect: the claim lets only one delivery work,
the lease fences every later write, and assets land at one path per job.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid

from dramatiq.middleware.time_limit import TimeLimitExceeded
from flask import current_app

from webapp.jobs import lifecycle
from webapp.jobs.dispatch import send_retry
from webapp.jobs.models import VideoJob
from webapp.logging_setup import job_context
from worker.providers import build_provider
from worker.providers.base import JobAbandoned, ProviderError, VideoSpec
from worker.storage import get_storage

log = logging.getLogger(__name__)
PROGRESS_WRITE_INTERVAL = 0.5  # seconds between progress writes at most


def worker_identity() -> str:
    """host:pid:thread -- who holds a lease, shown to operators."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class RunContext:
    """The provider's view of the job: progress, lease extension, cancel detection."""

    def __init__(self, job: VideoJob, owner: str, lease_seconds: float) -> None:
        self.job_id = job.id
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.provider_job_id = job.provider_job_id
        self._saved = job.progress
        self._last_write = time.monotonic()

    def progress(self, percent: float) -> None:
        value = max(0, min(100, int(percent)))
        now = time.monotonic()
        advanced = value > self._saved
        due = now - self._last_write >= PROGRESS_WRITE_INTERVAL
        lease_due = now - self._last_write >= self.lease_seconds / 3
        # 100 % is never written here: ``complete`` sets it in its fenced UPDATE right after
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
            raise JobAbandoned(f"job {self.job_id} was cancelled or its lease was lost")
        if advanced:
            self._saved = value

    def remember_provider_job(self, provider_job_id: str) -> None:
        self.provider_job_id = provider_job_id
        if not lifecycle.remember_provider_job(self.job_id, self.owner, provider_job_id):
            raise JobAbandoned(f"job {self.job_id} was cancelled or its lease was lost")


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter; a provider's ``Retry-After`` is a floor."""
    config = current_app.config
    base = config["JOB_RETRY_BASE_DELAY"] * (2 ** max(0, attempt - 1))
    delay = min(config["JOB_RETRY_MAX_DELAY"], base) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def classify(exc: BaseException) -> lifecycle.ErrorContext:
    if isinstance(exc, ProviderError):
        return lifecycle.ErrorContext.from_exception(exc, retryable=exc.retryable, code=exc.code)
    if isinstance(exc, TimeLimitExceeded):
        return lifecycle.ErrorContext.from_exception(
            exc, retryable=True, code="time_limit_exceeded"
        )
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return lifecycle.ErrorContext.from_exception(exc, retryable=True, code="timeout")
    return lifecycle.ErrorContext.from_exception(exc, retryable=False, code="internal_error")


def run_job(job_id: str) -> str:
    """Process one delivery; returns what happened (for logs and tests)."""
    config = current_app.config
    owner = f"{worker_identity()}:{uuid.uuid4().hex[:8]}"
    lease = float(config["JOB_LEASE_SECONDS"])
    job = lifecycle.claim(job_id, owner, lease_seconds=lease)
    if job is None:
        if lifecycle.fail_exhausted(job_id):
            log.warning("job %s failed: its worker died on the last attempt", job_id)
            return "failed"
        log.info("job %s not claimable (duplicate delivery, final, or not due)", job_id)
        return "skipped"

    token = job_context.set((job_id, job.attempts))
    try:
        return _work(job, owner, lease, config)
    finally:
        job_context.reset(token)


def _work(job: VideoJob, owner: str, lease: float, config) -> str:
    job_id = job.id
    log.info("job %s claimed (attempt %s/%s)", job_id, job.attempts, job.max_attempts)
    storage = get_storage()
    spec = VideoSpec(job.id, job.prompt, job.model, job.seconds, job.size)
    ctx = RunContext(job, owner, lease)
    try:
        provider = build_provider(job.provider, config)
        with storage.workdir() as workdir:
            assets = provider.generate(spec, ctx, workdir)
            video_path = storage.put(job.id, "video", assets.video)
            thumb_path = (
                storage.put(job.id, "thumbnail", assets.thumbnail) if assets.thumbnail else None
            )
    except JobAbandoned:
        log.info("job %s abandoned (cancelled or lease lost)", job_id)
        return "abandoned"
    except (Exception, TimeLimitExceeded) as exc:  # noqa: BLE001 - every failure is recorded
        error = classify(exc)
        delay = retry_delay(job.attempts, error.retry_after) if error.retryable else None
        outcome = lifecycle.record_failure(job, owner, error, worker=owner, retry_delay=delay)
        if outcome == "retry":
            send_retry(job_id, delay)
        log.warning(
            "job %s attempt %s failed (%s: %s) -> %s",
            job_id,
            job.attempts,
            error.name,
            error.code,
            outcome,
        )
        return outcome

    if lifecycle.complete(
        job_id,
        owner,
        video_path=video_path,
        thumbnail_path=thumb_path,
        retention_days=config["JOB_RETENTION_DAYS"],
    ):
        log.info("job %s completed", job_id)
        if job.storyboard_id:
            from webapp.storyboards.service import scene_completed

            scene_completed(job.storyboard_id)
        return "completed"
    current = lifecycle.current_status(job_id)
    if current is None or current != "completed":
        storage.delete_job(job_id)  # cancelled or deleted meanwhile: keep no orphan files
    log.info("job %s finished but no longer held (now %s); result discarded", job_id, current)
    return "discarded"
