"""Storyboards: an ordered set of scenes, each a video job, compiled into one film."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow


class Storyboard(db.Model):
    __tablename__ = "storyboards"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[int] = mapped_column(Integer)
    size: Mapped[str] = mapped_column(String(16))
    character: Mapped[str | None] = mapped_column(Text)
    style: Mapped[str | None] = mapped_column(String(64))
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    compile_status: Mapped[str | None] = mapped_column(String(16))
    compiled_path: Mapped[str | None] = mapped_column(String(512))
    compile_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_storyboards_client_id_id", "client_id", "id"),)
