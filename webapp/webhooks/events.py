"""Webhook events as an outbox: written in the same transaction as the state change they
describe, delivered after commit by the ``deliver_webhook`` actor (and re-sent by the
reconciler if that send is lost)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.ids import new_id
from webapp.timeutil import unix, utcnow
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)
EVENT_TYPES = (
    "video.completed",
    "video.failed",
    "video.cancelled",
    "storyboard.completed",
    "storyboard.failed",
)


def add_event(client_id: int | None, event_type: str, obj: dict[str, Any]) -> list[WebhookDelivery]:
    """Add the event and one pending delivery per subscribed endpoint to the session.

    The caller commits (together with the state change); then calls :func:`send_deliveries`.
    """
    if client_id is None:
        return []
    endpoints = [
        e
        for e in db.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.client_id == client_id, WebhookEndpoint.disabled_at.is_(None)
            )
        )
        if event_type in (e.event_types or [])
    ]
    if not endpoints:
        return []
    now = utcnow()
    event = WebhookEvent(
        id=new_id("msg"),
        client_id=client_id,
        type=event_type,
        created_at=now,
        payload={},
    )
    event.payload = {
        "id": event.id,
        "object": "event",
        "type": event_type,
        "created_at": unix(now),
        "data": obj,
    }
    db.session.add(event)
    db.session.flush()  # deliveries reference it
    deliveries = [
        WebhookDelivery(event_id=event.id, endpoint_id=e.id, status="pending", next_attempt_at=now)
        for e in endpoints
    ]
    db.session.add_all(deliveries)
    return deliveries


def send_deliveries(deliveries: list[WebhookDelivery]) -> None:
    """After commit: hand each delivery to a worker (the reconciler covers a failed send)."""
    if not deliveries:
        return
    from webapp.jobs.dispatch import BROKER_ERRORS
    from worker.actors import deliver_webhook

    for delivery in deliveries:
        try:
            deliver_webhook.send(delivery.id)
        except BROKER_ERRORS as exc:
            log.warning("webhook delivery %s left for the reconciler: %s", delivery.id, exc)
            return


def job_event(job) -> tuple[str, dict[str, Any]] | None:
    """The event a job's final status emits."""
    event_type = {
        "completed": "video.completed",
        "failed": "video.failed",
        "cancelled": "video.cancelled",
    }.get(job.status)
    if event_type is None:
        return None
    return event_type, {"id": job.id, "object": "video", "status": job.status}
