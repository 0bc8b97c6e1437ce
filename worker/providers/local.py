"""The ``local`` provider: renders a real H.264 MP4 and a JPEG thumbnail from the prompt.

No network and no model: each prompt is hashed into a palette, a set of moving shapes and a
caption, so output is deterministic per prompt and visibly different between prompts, at the
requested size and duration (24 fps). Static layers (gradient, caption) are drawn once; each
frame only composites them with a few shapes, so the encoder dominates the cost. PyAV's
encoder releases the GIL, so worker heartbeats keep beating while a clip renders.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

from worker.providers.base import (
    Capabilities,
    GeneratedAssets,
    JobContext,
    Provider,
    VideoSpec,
)

FPS = 24
CODEC = "libx264"
ENCODER_OPTIONS = {"preset": "veryfast", "crf": "23"}
CONTAINER_OPTIONS = {"movflags": "+faststart"}
MAX_CAPTION_CHARS = 160

CAPABILITIES = Capabilities(
    models=("sora-2", "sora-2-pro", "local-1"),
    seconds=(1, 2, 4, 8, 12),
    sizes=("320x180", "640x360", "1280x720", "720x1280", "1024x1792", "1792x1024"),
    default_model="sora-2",
    default_seconds=4,
    default_size="1280x720",
)


@dataclass(frozen=True)
class Shape:
    colour: tuple[int, int, int]
    radius: float  # fraction of the short side
    speed: float  # revolutions over the clip
    phase: float
    orbit_x: float
    orbit_y: float
    square: bool


class Scene:
    """Everything derived from the prompt, computed once per clip."""

    def __init__(self, spec: VideoSpec) -> None:
        digest = hashlib.sha256(f"{spec.prompt}\n{spec.model}".encode()).digest()
        self.width, self.height = spec.width, spec.height
        self.frames = spec.seconds * FPS
        hue = digest[0] / 255
        self.background = _gradient(
            self.width, self.height, _hsv(hue, 0.55, 0.35), _hsv((hue + 0.15) % 1, 0.65, 0.75)
        )
        self.caption = _caption_layer(spec.prompt, self.width, self.height)
        self.shapes = [
            Shape(
                colour=_hsv((hue + 0.3 + i * 0.17) % 1, 0.7, 0.95),
                radius=0.05 + digest[2 + i] / 255 * 0.08,
                speed=0.5 + digest[6 + i] / 255 * 1.5,
                phase=digest[10 + i] / 255 * math.tau,
                orbit_x=0.15 + digest[14 + i] / 255 * 0.3,
                orbit_y=0.1 + digest[18 + i] / 255 * 0.25,
                square=bool(digest[22 + i] & 1),
            )
            for i in range(2 + digest[1] % 3)
        ]

    def frame(self, index: int) -> Image.Image:
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        short = min(self.width, self.height)
        t = index / max(1, self.frames)
        for shape in self.shapes:
            angle = shape.phase + t * shape.speed * math.tau
            cx = self.width * (0.5 + shape.orbit_x * math.cos(angle))
            cy = self.height * (0.45 + shape.orbit_y * math.sin(angle * 1.3))
            r = shape.radius * short
            box = (cx - r, cy - r, cx + r, cy + r)
            if shape.square:
                draw.rectangle(box, fill=shape.colour)
            else:
                draw.ellipse(box, fill=shape.colour)
        image.paste(self.caption, (0, 0), self.caption)
        bar_h = max(2, self.height // 90)
        draw.rectangle(
            (0, self.height - bar_h, int(self.width * (index + 1) / self.frames), self.height),
            fill=(255, 255, 255),
        )
        return image

    def iter_frames(self) -> Iterator[Image.Image]:
        for index in range(self.frames):
            yield self.frame(index)


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _gradient(width: int, height: int, top, bottom) -> Image.Image:
    """Vertical gradient, built as a 1-pixel column and resized (fast)."""
    column = Image.new("RGB", (1, 256))
    column.putdata(
        [tuple(int(top[c] + (bottom[c] - top[c]) * y / 255) for c in range(3)) for y in range(256)]
    )
    return column.resize((width, height), Image.Resampling.BILINEAR)


def _caption_layer(prompt: str, width: int, height: int) -> Image.Image:
    """The prompt, wrapped, on a translucent band near the bottom (RGBA)."""
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    text = " ".join(prompt.split())
    if len(text) > MAX_CAPTION_CHARS:
        text = text[: MAX_CAPTION_CHARS - 1].rstrip() + "…"
    size = max(10, min(width, height) // 18)
    font = ImageFont.load_default(size=size)
    chars_per_line = max(10, int(width / (size * 0.55)))
    lines = textwrap.wrap(text, chars_per_line)[:3] or [""]
    line_h = int(size * 1.3)
    band_h = line_h * len(lines) + size
    top = height - band_h - max(4, height // 40)
    draw = ImageDraw.Draw(layer)
    draw.rectangle((0, top, width, top + band_h), fill=(0, 0, 0, 110))
    for i, line in enumerate(lines):
        draw.text(
            (size // 2 + 4, top + size // 2 + i * line_h),
            line,
            font=font,
            fill=(255, 255, 255, 255),
        )
    return layer


def encode_frames(
    frames: Iterable[Image.Image],
    width: int,
    height: int,
    video_path: Path,
    on_frame: Callable[[int], None] | None = None,
) -> int:
    """Encode RGB frames to H.264/yuv420p MP4 at :data:`FPS`; returns the frame count."""
    count = 0
    with av.open(str(video_path), mode="w", format="mp4", options=CONTAINER_OPTIONS) as out:
        stream = out.add_stream(CODEC, rate=FPS, options=ENCODER_OPTIONS)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        for image in frames:
            frame = av.VideoFrame.from_image(image)
            frame.pts = count
            frame.time_base = Fraction(1, FPS)
            out.mux(stream.encode(frame))
            count += 1
            if on_frame is not None:
                on_frame(count)
        out.mux(stream.encode(None))
    return count


def render(
    spec: VideoSpec,
    video_path: Path,
    thumbnail_path: Path,
    on_frame: Callable[[int, int], None] | None = None,
) -> None:
    """Render the clip for ``spec``; ``on_frame(done, total)`` after each encoded frame."""
    scene = Scene(spec)
    scene.frame(scene.frames // 2).save(thumbnail_path, "JPEG", quality=85)
    encode_frames(
        scene.iter_frames(),
        scene.width,
        scene.height,
        video_path,
        on_frame=(lambda done: on_frame(done, scene.frames)) if on_frame else None,
    )


class LocalProvider(Provider):
    """Renders in-process. ``submit``/``status``/``download`` belong to remote providers:
    there is no remote job to poll, so ``generate`` renders directly and reports per-frame
    progress (cancellation arrives as ``JobAbandoned`` from ``ctx.progress``)."""

    name = "local"
    capabilities = CAPABILITIES

    def generate(self, spec: VideoSpec, ctx: JobContext, workdir: Path) -> GeneratedAssets:
        video, thumbnail = workdir / "video.mp4", workdir / "thumbnail.jpg"
        render(
            spec, video, thumbnail, on_frame=lambda done, total: ctx.progress(100 * done / total)
        )
        return GeneratedAssets(video=video, thumbnail=thumbnail)

    def submit(self, spec: VideoSpec) -> str:
        raise NotImplementedError("the local provider renders in-process via generate()")

    def status(self, provider_job_id: str):
        raise NotImplementedError("the local provider renders in-process via generate()")

    def download(self, provider_job_id: str, variant: str, dest: Path) -> None:
        raise NotImplementedError("the local provider renders in-process via generate()")

    def cancel(self, provider_job_id: str) -> None:
        """Nothing to cancel remotely; rendering stops at the next progress call."""
