"""Dramatiq actors: thin wrappers that take ids and call services.

Retries are ours, not Dramatiq's (``max_retries=0``): attempts are counted in the database
at claim, which is the only count that survives a worker being killed.
"""

from __future__ import annotations

import dramatiq

from webapp.config import Config
from worker.broker import broker  # noqa: F401  (the broker must exist before actors bind)

VIDEO_QUEUE = "videos"
MAINTENANCE_QUEUE = "maintenance"
STORYBOARD_QUEUE = "storyboards"
WEBHOOK_QUEUE = "webhooks"


@dramatiq.actor(queue_name=VIDEO_QUEUE, max_retries=0, time_limit=Config.JOB_TIME_LIMIT * 1000)
def generate_video(job_id: str) -> None:
    """Claim the job and generate its video."""
    from worker.pipeline import run_job

    run_job(job_id)


@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0, time_limit=600_000)
def reconcile() -> None:
    """One reconciler pass (skipped when another process holds the lock)."""
    from worker.maintenance import reconcile_once

    reconcile_once()


@dramatiq.actor(queue_name=STORYBOARD_QUEUE, max_retries=0, time_limit=Config.JOB_TIME_LIMIT * 1000)
def compile_storyboard(storyboard_id: str) -> None:
    """Join a storyboard's completed scenes into one film."""
    from worker.compile import compile_storyboard as run

    run(storyboard_id)


@dramatiq.actor(queue_name=WEBHOOK_QUEUE, max_retries=0, time_limit=60_000)
def deliver_webhook(delivery_id: int) -> None:
    """One delivery attempt of a webhook event to one endpoint."""
    from webapp.webhooks.delivery import attempt_delivery

    attempt_delivery(delivery_id)
