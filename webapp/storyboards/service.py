"""Storyboards: scenes created in one transaction, status derived from the scenes, a compiled
film once every scene is completed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update

from webapp.extensions import db
from webapp.ids import new_id
from webapp.jobs.dispatch import dispatch_jobs
from webapp.jobs.models import FINAL_STATUSES, JobStatus, VideoJob
from webapp.jobs.params import VideoParams
from webapp.jobs.service import build_job, cancel_job, delete_rows, list_by_storyboard
from webapp.queries import get_owned, keyset_page
from webapp.storyboards.models import Storyboard
from webapp.timeutil import utcnow
from worker.storage import get_storage

STYLE_PRESETS = {
    "cinematic": "Cinematic, anamorphic 35mm look, shallow depth of field, dramatic light",
    "anime": "Hand-drawn anime style, clean line art, vivid cel shading",
    "watercolor": "Soft watercolor illustration, visible paper texture, gentle washes",
    "noir": "Black-and-white film noir, hard shadows, rain-slick streets",
    "documentary": "Natural documentary footage, handheld camera, available light",
    "claymation": "Stop-motion claymation, tactile textures, warm practical lighting",
}


@dataclass(frozen=True)
class SceneInput:
    prompt: str
    seconds: int | None = None


@dataclass(frozen=True)
class StoryboardInput:
    title: str
    provider: str
    model: str
    seconds: int
    size: str
    scenes: list[SceneInput]
    character: str | None = None
    style: str | None = None
    metadata: dict[str, str] | None = None


def compose_prompt(scene: str, *, character: str | None, style: str | None) -> str:
    """The prompt a scene's job runs: style preset, character description, then the scene."""
    parts = [STYLE_PRESETS[style]] if style else []
    if character:
        parts.append(f"Main character: {character}")
    parts.append(scene)
    return ". ".join(p.rstrip(". ") for p in parts) + "."


def create_storyboard(data: StoryboardInput, *, client_id: int | None) -> Storyboard:
    """Insert the storyboard and one queued job per scene in one transaction; then dispatch."""
    board = Storyboard(
        id=new_id("storyboard"),
        client_id=client_id,
        title=data.title,
        provider=data.provider,
        model=data.model,
        seconds=data.seconds,
        size=data.size,
        character=data.character,
        style=data.style,
        client_metadata=dict(data.metadata or {}),
    )
    db.session.add(board)
    db.session.flush()  # the scenes reference it
    jobs = []
    for index, scene in enumerate(data.scenes):
        params = VideoParams(
            prompt=compose_prompt(scene.prompt, character=data.character, style=data.style),
            provider=data.provider,
            model=data.model,
            seconds=scene.seconds or data.seconds,
            size=data.size,
            metadata={"scene_prompt": scene.prompt[:512]},
        )
        jobs.append(
            build_job(params, client_id=client_id, storyboard_id=board.id, scene_index=index)
        )
    db.session.add_all(jobs)
    db.session.commit()
    dispatch_jobs([job.id for job in jobs])
    return board


def get_storyboard(storyboard_id: str, *, client_id: int | None = None) -> Storyboard | None:
    return get_owned(Storyboard, storyboard_id, client_id)


def list_storyboards(*, client_id: int | None, after: str | None, limit: int, order: str):
    query = select(Storyboard)
    if client_id is not None:
        query = query.where(Storyboard.client_id == client_id)
    return keyset_page(query, Storyboard.id, after=after, limit=limit, order=order)


def list_recent(*, client_id: int | None = None, limit: int = 50) -> list[Storyboard]:
    return list_storyboards(client_id=client_id, after=None, limit=limit, order="desc")[0]


def scenes(storyboard_id: str) -> list[VideoJob]:
    return list_by_storyboard(storyboard_id)


def aggregate(board: Storyboard, scene_jobs: list[VideoJob]) -> dict[str, Any]:
    """Status, counts and mean progress derived from the scenes (and the compile step)."""
    counts = Counter(job.status for job in scene_jobs)
    total = len(scene_jobs) or 1
    if counts[JobStatus.FAILED] or board.compile_status == "failed":
        status = "failed"
    elif counts[JobStatus.CANCELLED]:
        status = "cancelled"
    elif counts[JobStatus.COMPLETED] == len(scene_jobs) and board.compile_status == "completed":
        status = "completed"
    elif counts[JobStatus.QUEUED] == len(scene_jobs):
        status = "queued"
    else:
        status = "in_progress"
    return {
        "status": status,
        "progress": round(sum(job.progress for job in scene_jobs) / total),
        "counts": {s.value: counts.get(s.value, 0) for s in JobStatus},
    }


def cancel_storyboard(storyboard_id: str, *, client_id: int | None) -> Storyboard | None:
    board = get_storyboard(storyboard_id, client_id=client_id)
    if board is None:
        return None
    for job in scenes(storyboard_id):
        if job.status in (JobStatus.QUEUED, JobStatus.IN_PROGRESS):
            cancel_job(job.id)
    return board


def storyboard_event_for_scene(storyboard_id: str) -> list:
    """In the transaction that fails a scene: a ``storyboard.failed`` event, once (for the
    first failed scene)."""
    from webapp.webhooks.events import add_event

    failed = db.session.scalar(
        select(func.count())
        .select_from(VideoJob)
        .where(VideoJob.storyboard_id == storyboard_id, VideoJob.status == JobStatus.FAILED)
    )
    board = db.session.get(Storyboard, storyboard_id)
    if board is None or failed != 1:
        return []
    return add_event(
        board.client_id,
        "storyboard.failed",
        {"id": board.id, "object": "storyboard", "status": "failed"},
    )


def scene_completed(storyboard_id: str) -> bool:
    """After a scene completes: when all are completed, queue the compile (once)."""
    remaining = db.session.scalar(
        select(func.count())
        .select_from(VideoJob)
        .where(VideoJob.storyboard_id == storyboard_id, VideoJob.status != JobStatus.COMPLETED)
    )
    if remaining:
        return False
    queued = db.session.execute(
        update(Storyboard)
        .where(
            Storyboard.id == storyboard_id,
            (Storyboard.compile_status.is_(None)) | (Storyboard.compile_status == "failed"),
        )
        .values(compile_status="queued", compile_error=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if queued:
        send_compile(storyboard_id)
    return bool(queued)


def send_compile(storyboard_id: str) -> None:
    from webapp.jobs.dispatch import BROKER_ERRORS
    from worker.actors import compile_storyboard

    try:
        compile_storyboard.send(storyboard_id)
    except BROKER_ERRORS:
        current_app.logger.warning("compile of %s left for the reconciler", storyboard_id)


def cleanup_old_storyboards(days: int, *, batch: int = 200) -> int:
    """Delete storyboards created more than ``days`` ago that have nothing left to run (every
    remaining scene final, no compile queued or running), with their remaining scenes and
    every file, the compiled film included -- retention for storyboards, which
    :func:`webapp.jobs.service.cleanup_old_jobs` leaves behind without their scenes."""
    cutoff = utcnow() - timedelta(days=days)
    storage = get_storage()
    unfinished = (
        select(VideoJob.id)
        .where(VideoJob.storyboard_id == Storyboard.id, VideoJob.status.not_in(FINAL_STATUSES))
        .exists()
    )
    deleted = 0
    while True:
        ids = list(
            db.session.scalars(
                select(Storyboard.id)
                .where(
                    Storyboard.created_at < cutoff,
                    ~unfinished,
                    Storyboard.compile_status.is_(None)
                    | Storyboard.compile_status.not_in(("queued", "running")),
                )
                .limit(batch)
            )
        )
        if not ids:
            return deleted
        scene_ids = list(
            db.session.scalars(select(VideoJob.id).where(VideoJob.storyboard_id.in_(ids)))
        )
        delete_rows(scene_ids)
        db.session.execute(
            delete(Storyboard)
            .where(Storyboard.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        for job_id in scene_ids:
            storage.delete_job(job_id)
        for storyboard_id in ids:
            storage.delete_storyboard(storyboard_id)
        deleted += len(ids)
