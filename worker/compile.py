"""Join a storyboard's scene videos, in order, into one MP4.

When every scene has the same codec, size and time base (the usual case: one provider, one
size), packets are copied -- no re-encode, no quality loss. Otherwise each scene is decoded,
scaled to the storyboard size and encoded once with the local renderer's settings.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
from sqlalchemy import update

from webapp.extensions import db
from webapp.storyboards import service
from webapp.storyboards.models import Storyboard
from webapp.timeutil import utcnow
from worker.providers.local import CODEC, ENCODER_OPTIONS, FPS
from worker.storage import get_storage

log = logging.getLogger(__name__)


def _signature(path: Path) -> tuple:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return (stream.codec_context.name, stream.width, stream.height, stream.time_base)


def concat_copy(inputs: list[Path], output: Path) -> None:
    """Remux: copy packets, shifting timestamps so each scene starts where the last ended."""
    with av.open(str(output), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        with av.open(str(inputs[0])) as first:
            out_stream = out.add_stream_from_template(first.streams.video[0])
        offset = 0
        for path in inputs:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                end = offset
                for packet in container.demux(stream):
                    if packet.dts is None:
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    end = max(end, packet.pts + (packet.duration or 0))
                    packet.stream = out_stream
                    out.mux(packet)
                offset = end


def concat_reencode(inputs: list[Path], output: Path, width: int, height: int) -> None:
    """Decode every scene, scale to ``width``x``height``, encode once at :data:`FPS`."""
    with av.open(str(output), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream(CODEC, rate=FPS, options=ENCODER_OPTIONS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        pts = 0
        for path in inputs:
            with av.open(str(path)) as container:
                for frame in container.decode(video=0):
                    scaled = frame.reformat(width=width, height=height, format="yuv420p")
                    scaled.pts, scaled.time_base = pts, Fraction(1, FPS)
                    out.mux(stream.encode(scaled))
                    pts += 1
        out.mux(stream.encode(None))


def concat(inputs: list[Path], output: Path, size: str) -> str:
    """Join ``inputs`` into ``output``; returns ``"copy"`` or ``"reencode"``."""
    width, height = (int(v) for v in size.split("x"))
    signatures = {_signature(p) for p in inputs}
    if len(signatures) == 1 and next(iter(signatures))[1:3] == (width, height):
        concat_copy(inputs, output)
        return "copy"
    concat_reencode(inputs, output, width, height)
    return "reencode"


def compile_storyboard(storyboard_id: str) -> str:
    """Claim the compile, join the scenes, store the film, emit ``storyboard.completed``."""
    from webapp.webhooks.events import add_event, send_deliveries

    claimed = db.session.execute(
        update(Storyboard)
        .where(Storyboard.id == storyboard_id, Storyboard.compile_status == "queued")
        .values(compile_status="running", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    board = db.session.get(Storyboard, storyboard_id)
    storage = get_storage()
    scenes = service.scenes(storyboard_id)
    try:
        inputs = [storage.resolve(job.video_path) for job in scenes]
        with storage.workdir() as workdir:
            film = workdir / "film.mp4"
            mode = concat(inputs, film, board.size)
            relative = storage.put_file(storage.film(storyboard_id), film)
    except Exception as exc:  # noqa: BLE001 - recorded on the storyboard
        log.exception("compile of %s failed", storyboard_id)
        board.compile_status, board.compile_error = "failed", f"{type(exc).__name__}: {exc}"
        deliveries = add_event(
            board.client_id,
            "storyboard.failed",
            {"id": board.id, "object": "storyboard", "status": "failed"},
        )
        db.session.commit()
        send_deliveries(deliveries)
        return "failed"
    board.compile_status, board.compiled_path = "completed", relative
    board.completed_at = utcnow()
    deliveries = add_event(
        board.client_id,
        "storyboard.completed",
        {"id": board.id, "object": "storyboard", "status": "completed"},
    )
    db.session.commit()
    send_deliveries(deliveries)
    log.info("storyboard %s compiled (%s) from %d scenes", storyboard_id, mode, len(inputs))
    return "completed"
