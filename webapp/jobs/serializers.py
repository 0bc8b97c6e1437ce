"""The public video object (OpenAI Videos shape plus our fields)."""

from __future__ import annotations

from typing import Any

from webapp.jobs.models import JobStatus, VideoJob
from webapp.timeutil import unix


def video_object(job: VideoJob) -> dict[str, Any]:
    error = None
    if job.status == JobStatus.FAILED or (job.error_code and job.status == JobStatus.CANCELLED):
        error = {"code": job.error_code or "failed", "message": job.error_message or ""}
    return {
        "id": job.id,
        "object": "video",
        "status": job.status,
        "progress": job.progress,
        "model": job.model,
        "provider": job.provider,
        "seconds": str(job.seconds),
        "size": job.size,
        "prompt": job.prompt,
        "storyboard_id": job.storyboard_id,
        "scene_index": job.scene_index,
        "created_at": unix(job.created_at),
        "started_at": unix(job.started_at),
        "completed_at": unix(job.completed_at),
        "expires_at": unix(job.expires_at),
        "error": error,
        "attempts": job.attempts,
        "metadata": job.client_metadata or {},
        "remixed_from_video_id": None,
    }


def list_object(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }
