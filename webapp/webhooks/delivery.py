"""Deliver one webhook: claim the delivery, POST the signed event, record the attempt, then
succeed, retry later (growing delays, ``Retry-After`` honoured) or give up.

An endpoint that answers 410 Gone, or has failed for ``WEBHOOK_DISABLE_AFTER_HOURS``, is
disabled. The ``webhook-id`` is the event id on every attempt, so receivers can de-duplicate.
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta

import httpx
from flask import current_app
from sqlalchemy import or_, update

from webapp.extensions import db
from webapp.timeutil import utcnow
from webapp.webhooks import egress, signing
from webapp.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12


def _claim(delivery_id: int) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            or_(
                WebhookDelivery.next_attempt_at.is_(None),
                WebhookDelivery.next_attempt_at <= now + timedelta(seconds=1),
            ),
        )
        .values(
            status="sending",
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=now + timedelta(minutes=5),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    from worker.providers.openai_compat import parse_retry_after

    return parse_retry_after(response.headers.get("Retry-After"))


def attempt_delivery(delivery_id: int) -> str:
    """One attempt; returns ``succeeded``, ``retry``, ``failed`` or ``skipped``."""
    if not _claim(delivery_id):
        return "skipped"
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    event = db.session.get(WebhookEvent, delivery.event_id)
    if endpoint is None or endpoint.disabled_at is not None:
        delivery.status, delivery.last_error = "failed", "endpoint disabled or deleted"
        db.session.commit()
        return "failed"
    config = current_app.config
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True)
    headers = signing.headers(endpoint.secret, event.id, int(time.time()), body)
    started = time.monotonic()
    response, error = None, None
    try:
        response = egress.post(
            endpoint.url,
            content=body,
            headers=headers,
            timeout=config["WEBHOOK_TIMEOUT"],
            allow_private=config["WEBHOOK_ALLOW_PRIVATE"],
        )
    except (httpx.HTTPError, egress.EgressRefused) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    status_code = response.status_code if response is not None else None
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            status_code=status_code,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    )
    delivery.last_status_code, delivery.last_error = status_code, error
    now = utcnow()
    if status_code is not None and 200 <= status_code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", now, None
        endpoint.failing_since = None
        db.session.commit()
        return "succeeded"
    endpoint.failing_since = endpoint.failing_since or now
    gone = status_code == 410
    too_long = now - endpoint.failing_since > timedelta(hours=config["WEBHOOK_DISABLE_AFTER_HOURS"])
    if gone or too_long:
        endpoint.disabled_at = now
        endpoint.disabled_reason = "answered 410 Gone" if gone else "failing for too long"
    if gone or too_long or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
        db.session.commit()
        return "failed"
    base = config["WEBHOOK_RETRY_BASE_DELAY"] * 2 ** (delivery.attempts - 1)
    delay = min(config["WEBHOOK_RETRY_MAX_DELAY"], base) * random.uniform(0.8, 1.2)
    delay = max(delay, _retry_after(response) or 0)
    delivery.status, delivery.next_attempt_at = "pending", now + timedelta(seconds=delay)
    db.session.commit()
    schedule(delivery.id, delay)
    return "retry"


def schedule(delivery_id: int, delay: float) -> None:
    from webapp.jobs.dispatch import BROKER_ERRORS
    from worker.actors import deliver_webhook

    try:
        deliver_webhook.send_with_options(args=(delivery_id,), delay=int(delay * 1000))
    except BROKER_ERRORS:
        log.warning("webhook retry %s left for the reconciler", delivery_id)


def redeliver(delivery_id: int) -> WebhookDelivery | None:
    """Operator redelivery: back to pending now (a new attempt, same event id)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return None
    if delivery.status != "sending":
        delivery.status, delivery.next_attempt_at = "pending", utcnow()
        db.session.commit()
        schedule(delivery.id, 0)
    return delivery


def resend_due(limit: int = 200) -> int:
    """Reconciler: pending deliveries past due, and ``sending`` ones whose worker died."""
    from sqlalchemy import select

    now = utcnow()
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == "sending", WebhookDelivery.next_attempt_at < now)
        .values(status="pending")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    due = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at < now - timedelta(seconds=30),
            )
            .limit(limit)
        )
    )
    for delivery_id in due:
        schedule(delivery_id, 0)
    return len(due)
