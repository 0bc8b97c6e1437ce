"""Video jobs and their failed attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ALL_STATUSES = tuple(s.value for s in JobStatus)


class VideoJob(db.Model):
    """One prompt turned into one video. The row is the source of truth for the job's state."""

    __tablename__ = "video_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id", ondelete="SET NULL"))
    storyboard_id: Mapped[str | None] = mapped_column(
        ForeignKey("storyboards.id", ondelete="CASCADE")
    )
    scene_index: Mapped[int | None] = mapped_column(Integer)

    prompt: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[int] = mapped_column(Integer)
    size: Mapped[str] = mapped_column(String(16))

    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    provider_job_id: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # name + code + normalised message of the latest failure; the failed-jobs page groups by it
    error_signature: Mapped[str | None] = mapped_column(String(64))
    # The seed's job metadata: {"error": {name, message, stack, code, timestamp,
    # attemptsMade, provider}} for the latest failed attempt.
    job_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    lease_owner: Mapped[str | None] = mapped_column(String(96))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Id of the last Dramatiq message sent for the job; the reconciler asks the broker
    # whether it still exists (a wiped Redis loses it) and re-dispatches if not.
    message_id: Mapped[str | None] = mapped_column(String(64))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    video_path: Mapped[str | None] = mapped_column(String(512))
    thumbnail_path: Mapped[str | None] = mapped_column(String(512))

    attempt_records: Mapped[list[JobAttempt]] = relationship(
        back_populates="job",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="JobAttempt.attempt",
    )

    __table_args__ = (
        Index("ix_video_jobs_status_id", "status", "id"),
        Index("ix_video_jobs_client_id_id", "client_id", "id"),
        Index("ix_video_jobs_client_status_id", "client_id", "status", "id"),
        Index("ix_video_jobs_storyboard_scene", "storyboard_id", "scene_index"),
        Index("ix_video_jobs_status_dispatched", "status", "dispatched_at"),
        Index("ix_video_jobs_status_lease", "status", "lease_expires_at"),
        Index("ix_video_jobs_status_completed", "status", "completed_at"),
        Index("ix_video_jobs_created_at", "created_at"),
        Index("ix_video_jobs_provider_id", "provider", "id"),
        # Failure groups: first/last seen and the latest sample per signature are index
        # probes; a signature's failed jobs are one index range.
        Index(
            "ix_video_jobs_failed_signature",
            "error_signature",
            "completed_at",
            "id",
            postgresql_where=text("status = 'failed'"),
            sqlite_where=text("status = 'failed'"),
        ),
        # Search (prompt / error text ILIKE '%...%') on PostgreSQL: pg_trgm GIN indexes.
        Index(
            "ix_video_jobs_prompt_trgm",
            "prompt",
            postgresql_using="gin",
            postgresql_ops={"prompt": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_video_jobs_error_message_trgm",
            "error_message",
            postgresql_using="gin",
            postgresql_ops={"error_message": "gin_trgm_ops"},
            postgresql_where=text("error_message IS NOT NULL"),
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def error_context(self) -> dict[str, Any] | None:
        return (self.job_metadata or {}).get("error")

    def __repr__(self) -> str:
        return f"<VideoJob {self.id} {self.status}>"


# Job counts per status and provider (and error signature, for failed jobs) as deltas, appended by
# triggers on video_jobs (migration 0003_job_counts), summed by webapp.jobs.counts and folded
# into one row per key by the reconciler. Append-only, so concurrent transactions never wait
# on a shared counter row, and the dashboard's counts cost the same at any table size.
job_status_counts = Table(
    "job_status_counts",
    db.metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("error_signature", String(64)),
    Column("delta", BigInteger, nullable=False),
)


class JobAttempt(db.Model):
    """One failed attempt with the full error context (the seed's ``metadata.error``)."""

    __tablename__ = "job_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("video_jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    stack: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    retryable: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(96))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    job: Mapped[VideoJob] = relationship(back_populates="attempt_records")

    def context(self) -> dict[str, Any]:
        """The seed's error shape."""
        return {
            "name": self.name,
            "message": self.message,
            "stack": self.stack,
            "code": self.code,
            "timestamp": self.timestamp.isoformat(),
            "attemptsMade": self.attempt,
            "provider": self.provider,
        }
