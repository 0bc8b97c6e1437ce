"""The audit log of operator actions: who, when, what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.admin.models import AuditEvent
from webapp.extensions import db


def record(
    action: str,
    *,
    actor: str,
    target: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    commit: bool = True,
) -> AuditEvent:
    event = AuditEvent(action=action, actor=actor, target=target, ip=ip, detail=detail or {})
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def recent(*, before_id: int | None = None, limit: int = 50) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query))
