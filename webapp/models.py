"""Import every model so metadata (and Alembic autogenerate) sees all tables."""

from webapp.admin.models import AdminSession, AuditEvent
from webapp.api.models import IdempotencyRecord
from webapp.clients.models import ApiClient
from webapp.jobs.models import JobAttempt, VideoJob
from webapp.storyboards.models import Storyboard
from webapp.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AdminSession",
    "ApiClient",
    "AuditEvent",
    "IdempotencyRecord",
    "JobAttempt",
    "Storyboard",
    "VideoJob",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
