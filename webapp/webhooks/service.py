"""Webhook endpoints: register (URL checked), list, delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from webapp.extensions import db
from webapp.ids import new_id
from webapp.queries import get_owned
from webapp.timeutil import unix
from webapp.webhooks import signing
from webapp.webhooks.egress import default_port, resolve
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint


def check_url(url: Any, *, allow_private: bool) -> str:
    """An http(s) URL; unless allowed, one that resolves only to public addresses (checked
    again at every delivery: :mod:`webapp.webhooks.egress`)."""
    if not isinstance(url, str) or len(url) > 2048 or "\x00" in url:
        raise ValueError("'url' must be an http or https URL.")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("'url' must be an http or https URL.")
    if parts.username or parts.password:
        raise ValueError("'url' must not contain credentials.")
    if not allow_private:
        resolve(parts.hostname, default_port(parts), allow_private=False)
    return url.strip()


def create_endpoint(client_id: int, url: str, event_types: list[str]) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        client_id=client_id,
        url=url,
        secret=signing.new_secret(),
        event_types=event_types,
    )
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def list_endpoints(client_id: int) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.client_id == client_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def delete_endpoint(client_id: int, endpoint_id: str) -> bool:
    endpoint = get_owned(WebhookEndpoint, endpoint_id, client_id)
    if endpoint is None:
        return False
    db.session.delete(endpoint)
    db.session.commit()
    return True


def endpoint_object(endpoint: WebhookEndpoint, *, include_secret: bool = False) -> dict:
    data = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "created_at": unix(endpoint.created_at),
        "disabled": endpoint.disabled_at is not None,
        "disabled_reason": endpoint.disabled_reason,
    }
    if include_secret:
        data["secret"] = endpoint.secret
    return data


def recent_deliveries(limit: int = 100) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit))
    )
