"""Job API: ``/v1/webhook_endpoints`` -- where a client wants its events delivered."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from webapp.api.auth import require_client
from webapp.api.errors import ApiError, invalid
from webapp.api.inputs import request_data
from webapp.jobs.params import reject_unknown
from webapp.webhooks import service
from webapp.webhooks.events import EVENT_TYPES

bp = Blueprint("webhooks", __name__, url_prefix="/v1/webhook_endpoints")


@bp.post("")
@require_client
def create_endpoint():
    """Register an endpoint; the signing secret is in this response only."""
    data = request_data()
    reject_unknown(data, frozenset({"url", "event_types"}))
    events = data.get("event_types") or list(EVENT_TYPES)
    if not isinstance(events, list) or not all(e in EVENT_TYPES for e in events):
        raise invalid(
            f"'event_types' must be a list drawn from: {', '.join(EVENT_TYPES)}.",
            param="event_types",
        )
    try:
        url = service.check_url(
            data.get("url"), allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"]
        )
    except ValueError as exc:
        raise invalid(str(exc), param="url") from None
    endpoint = service.create_endpoint(g.client.id, url, sorted(set(events)))
    return jsonify(service.endpoint_object(endpoint, include_secret=True)), 201


@bp.get("")
@require_client
def list_endpoints():
    items = [service.endpoint_object(e) for e in service.list_endpoints(g.client.id)]
    return jsonify(
        {
            "object": "list",
            "data": items,
            "has_more": False,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None,
        }
    )


@bp.delete("/<endpoint_id>")
@require_client
def delete_endpoint(endpoint_id: str):
    if not service.delete_endpoint(g.client.id, endpoint_id):
        raise ApiError(404, "No such webhook endpoint.", code="webhook_endpoint_not_found")
    return jsonify({"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True})
