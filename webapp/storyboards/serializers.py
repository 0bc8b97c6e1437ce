"""The public storyboard object."""

from __future__ import annotations

from typing import Any

from webapp.jobs.serializers import video_object
from webapp.storyboards import service
from webapp.storyboards.models import Storyboard
from webapp.timeutil import unix


def storyboard_object(board: Storyboard) -> dict[str, Any]:
    scene_jobs = service.scenes(board.id)
    summary = service.aggregate(board, scene_jobs)
    return {
        "id": board.id,
        "object": "storyboard",
        "title": board.title,
        "status": summary["status"],
        "progress": summary["progress"],
        "counts": summary["counts"],
        "provider": board.provider,
        "model": board.model,
        "seconds": str(board.seconds),
        "size": board.size,
        "character": board.character,
        "style": board.style,
        "metadata": board.client_metadata or {},
        "compile": {"status": board.compile_status, "error": board.compile_error},
        "created_at": unix(board.created_at),
        "completed_at": unix(board.completed_at),
        "scenes": [video_object(job) for job in scene_jobs],
    }
