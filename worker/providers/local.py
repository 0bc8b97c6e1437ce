"""The ``local`` provider: renders a real H.264 MP4 and a JPEG thumbnail from the prompt.

No network and no model. The prompt's SHA-256 seeds everything -- a gradient palette, two to
four shapes moving on Lissajous paths, and the wrapped prompt as a caption -- so a clip is
deterministic per prompt (same prompt, size and duration give the same frames) and visibly
different between prompts. Output is exactly the requested size and duration at :data:`FPS`.

Cost: the static layers (gradient background, caption band) are drawn once per clip; each
frame copies the background, draws the few shapes, pastes the caption band and draws a
progress bar with a timecode, so the encoder dominates. Frames are streamed to the encoder
one at a time (memory stays flat), and PyAV releases the GIL while encoding, so the worker's
other threads (heartbeats, lease extension) keep running during a render.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import queue
import random
import threading
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
    ProviderStatus,
    VideoSpec,
)

FPS = 24
CODEC = "libx264"
PIX_FMT = "yuv420p"


def _x264_cpu_cap(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """Keep x264 off its AVX-512 kernels on CPUs that have them.

    With them, identical frames can encode differently from run to run for some widths
    (seen at 320 and 720): the output then depends on uninitialised bytes past the picture.
    Every AVX-512 CPU has AVX2, so capping at AVX2 is safe there; it costs a few percent of
    encode speed. Elsewhere (no AVX-512, or no ``/proc/cpuinfo``) x264 keeps its own choice.
    """
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        return {}
    return {"x264-params": "asm=AVX2"} if "avx512" in flags else {}


ENCODER_OPTIONS: dict[str, str] = {"preset": "veryfast", "crf": "23", **_x264_cpu_cap()}
CONTAINER_OPTIONS: dict[str, str] = {"movflags": "+faststart"}
THUMBNAIL_QUALITY = 85
MAX_PROMPT_CHARS = 280  # longer prompts are cut (with an ellipsis) before wrapping
ELLIPSIS = "\u2026"
PREFETCH_FRAMES = 4  # frames drawn ahead of the encoder by the drawing thread

CAPABILITIES = Capabilities(
    models=("sora-2", "sora-2-pro", "local-1"),
    seconds=(1, 2, 4, 8, 12),
    sizes=("320x180", "640x360", "1280x720", "720x1280", "1024x1792", "1792x1024"),
    default_model="sora-2",
    default_seconds=4,
    default_size="1280x720",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]


# --------------------------------------------------------------------------- encoding


def encode_frames(
    frames: Iterable[Image.Image],
    width: int,
    height: int,
    video_path: Path,
    on_frame: Callable[[int], None] | None = None,
) -> int:
    """Encode RGB images to an H.264 (``yuv420p``) MP4 at :data:`FPS`; return the frame count.

    Frame ``i`` gets ``pts = i`` in a ``1/FPS`` time base, so ``n`` frames decode as exactly
    ``n / FPS`` seconds. ``on_frame(i)`` runs after frame ``i`` went to the encoder; whatever
    it raises stops encoding, the container is closed, and the exception propagates.
    """
    if width % 2 or height % 2:
        raise ValueError(f"{PIX_FMT} needs even dimensions, got {width}x{height}")
    time_base = Fraction(1, FPS)
    count = 0
    with av.open(str(video_path), mode="w", format="mp4", options=CONTAINER_OPTIONS) as out:
        stream = out.add_stream(CODEC, rate=FPS, options=ENCODER_OPTIONS)
        stream.width, stream.height = width, height
        stream.pix_fmt = PIX_FMT
        stream.codec_context.time_base = time_base
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = time_base
            out.mux(stream.encode(frame))
            count = index + 1
            if on_frame is not None:
                on_frame(index)
        out.mux(stream.encode(None))  # flush the encoder's lookahead
    return count


# --------------------------------------------------------------------------- the scene


@dataclass(frozen=True)
class Shape:
    """One moving shape: a circle or a spinning square on a Lissajous path."""

    colour: RGB
    radius: float  # fraction of the frame's short side
    freq_x: int  # path cycles over the clip, horizontally
    freq_y: int  # ... and vertically
    phase_x: float
    phase_y: float
    amp_x: float  # path half-width, fraction of the frame width
    amp_y: float  # path half-height, fraction of the frame height
    square: bool
    spin: float  # square rotations over the clip (signed)

    def draw(self, draw: ImageDraw.ImageDraw, width: int, height: int, t: float) -> None:
        """Draw at clip position ``t`` (0..1)."""
        cx = width * (0.5 + self.amp_x * math.sin(math.tau * self.freq_x * t + self.phase_x))
        cy = height * (0.4 + self.amp_y * math.sin(math.tau * self.freq_y * t + self.phase_y))
        r = self.radius * min(width, height)
        if self.square:
            draw.regular_polygon((cx, cy, r), 4, rotation=360 * self.spin * t, fill=self.colour)
        else:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=self.colour)


def _rgb(hue: float, saturation: float, value: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def _random_shape(rng: random.Random, base_hue: float) -> Shape:
    return Shape(
        colour=_rgb(base_hue + rng.uniform(0.25, 0.75), rng.uniform(0.6, 0.9), 0.95),
        radius=rng.uniform(0.06, 0.14),
        freq_x=rng.randint(1, 3),
        freq_y=rng.randint(1, 3),
        phase_x=rng.uniform(0, math.tau),
        phase_y=rng.uniform(0, math.tau),
        amp_x=rng.uniform(0.15, 0.38),
        amp_y=rng.uniform(0.1, 0.28),
        square=rng.random() < 0.5,
        spin=rng.choice((-1, 1)) * rng.uniform(0.5, 2.0),
    )


def _gradient(width: int, height: int, corners: tuple[RGB, RGB, RGB, RGB]) -> Image.Image:
    """A smooth four-corner gradient (top-left, top-right, bottom-left, bottom-right).

    Computed on a small grid and upscaled bilinearly: a few hundred pixels of Python work.
    """
    grid = 16
    tl, tr, bl, br = corners
    pixels = []
    for gy in range(grid):
        v = gy / (grid - 1)
        for gx in range(grid):
            u = gx / (grid - 1)
            pixels.append(
                tuple(
                    round(
                        tl[c] * (1 - u) * (1 - v)
                        + tr[c] * u * (1 - v)
                        + bl[c] * (1 - u) * v
                        + br[c] * u * v
                    )
                    for c in range(3)
                )
            )
    small = Image.new("RGB", (grid, grid))
    small.putdata(pixels)
    return small.resize((width, height), Image.Resampling.BILINEAR)


def _ellipsize(line: str, font: Font, max_width: float) -> str:
    """``line`` with an ellipsis appended, shortened until it fits ``max_width``."""
    while line and font.getlength(line + ELLIPSIS) > max_width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def wrap_text(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap measured with ``font``; over-long words are broken, and text beyond
    ``max_lines`` (or beyond :data:`MAX_PROMPT_CHARS`) ends the last line with an ellipsis."""
    text = " ".join(text.split())
    truncated = len(text) > MAX_PROMPT_CHARS
    text = text[:MAX_PROMPT_CHARS]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while len(word) > 1 and font.getlength(word) > max_width:
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines, truncated = lines[:max_lines], True
    if truncated and lines:
        lines[-1] = _ellipsize(lines[-1], font, max_width)
    return lines


def _caption_band(prompt: str, width: int, height: int) -> Image.Image | None:
    """The wrapped prompt, white with a dark outline, on a translucent band (RGBA).

    The font scales with the frame height (capped by the width for portrait frames).
    """
    size = max(10, round(min(height / 16, width / 22)))
    font = ImageFont.load_default(size=size)
    margin = max(4, size // 2)
    max_lines = 3 if width >= height else 5
    lines = wrap_text(prompt, font, width - 2 * margin, max_lines)
    if not lines:
        return None
    line_height = round(size * 1.25)
    band = Image.new("RGBA", (width, line_height * len(lines) + margin), (0, 0, 0, 120))
    draw = ImageDraw.Draw(band)
    for i, line in enumerate(lines):
        draw.text(
            (margin, margin // 2 + i * line_height),
            line,
            font=font,
            fill=(255, 255, 255, 255),
            stroke_width=max(1, size // 20),
            stroke_fill=(0, 0, 0, 255),
        )
    return band


class Scene:
    """Everything derived from the spec, computed once per clip; :meth:`frame` draws one."""

    def __init__(self, spec: VideoSpec) -> None:
        self.width, self.height = spec.width, spec.height
        self.total_frames = spec.seconds * FPS
        self.total_label = f"{spec.seconds // 60}:{spec.seconds % 60:02d}"
        rng = random.Random(hashlib.sha256(spec.prompt.encode("utf-8")).digest())
        hue = rng.random()
        corners = (
            _rgb(hue, 0.6, 0.30),
            _rgb(hue + 0.08, 0.55, 0.45),
            _rgb(hue - 0.08, 0.65, 0.40),
            _rgb(hue + 0.16, 0.7, 0.55),
        )
        self.background = _gradient(self.width, self.height, corners)
        self.shapes = [_random_shape(rng, hue) for _ in range(rng.randint(2, 4))]
        self.caption = _caption_band(spec.prompt, self.width, self.height)
        self.bar_height = max(3, self.height // 60)
        self.bar_colour = _rgb(hue + 0.5, 0.3, 1.0)
        self.caption_top = (
            self.height - self.bar_height - (self.caption.height if self.caption else 0)
        )
        self.timecode_font = ImageFont.load_default(
            size=max(9, min(self.height // 30, self.width // 40))
        )
        self.timecode_margin = max(3, self.height // 60)

    def frame(self, index: int) -> Image.Image:
        """Frame ``index`` (0-based) as a new RGB image."""
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        t = index / self.total_frames
        for shape in self.shapes:
            shape.draw(draw, self.width, self.height, t)
        if self.caption is not None:
            image.paste(self.caption, (0, self.caption_top), self.caption)
        self._draw_progress(draw, index)
        return image

    def frames(self) -> Iterator[Image.Image]:
        """All frames, one at a time."""
        for index in range(self.total_frames):
            yield self.frame(index)

    def _draw_progress(self, draw: ImageDraw.ImageDraw, index: int) -> None:
        """A bar along the bottom edge and an ``elapsed / total`` timecode, top left."""
        top = self.height - self.bar_height
        draw.rectangle((0, top, self.width, self.height), fill=(0, 0, 0))
        filled = round(self.width * (index + 1) / self.total_frames)
        if filled > 0:
            draw.rectangle((0, top, filled - 1, self.height), fill=self.bar_colour)
        elapsed = index / FPS
        timecode = f"{int(elapsed // 60)}:{elapsed % 60:05.2f} / {self.total_label}"
        draw.text(
            (self.timecode_margin, self.timecode_margin),
            timecode,
            font=self.timecode_font,
            fill=(255, 255, 255),
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )


# --------------------------------------------------------------------------- rendering


def prefetched(
    frames: Iterable[Image.Image], depth: int = PREFETCH_FRAMES
) -> Iterator[Image.Image]:
    """Yield ``frames`` while a helper thread draws up to ``depth`` of them ahead.

    Drawing (Python + Pillow) then overlaps encoding (which releases the GIL), so a render
    costs about as much as encoding alone. An exception raised while drawing is re-raised
    here. Close the generator when done early (``render`` does): that stops and joins the
    thread; the thread starts on the first ``next()``.
    """
    buffer: queue.Queue[Image.Image | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Image.Image | BaseException | None) -> bool:
        """Queue ``item`` unless the consumer has stopped; ``False`` if it has."""
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for image in frames:
                if not put(image):
                    return
            put(None)  # the end
        except BaseException as exc:  # forwarded to the consumer, which re-raises it
            put(exc)

    thread = threading.Thread(target=produce, name="local-render-frames", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def render(
    spec: VideoSpec,
    video_path: Path,
    thumbnail_path: Path,
    on_frame: Callable[[int, int], None] | None = None,
) -> None:
    """Render ``spec`` to an MP4 at ``video_path`` and its middle frame to a JPEG.

    ``on_frame(frame_index, total_frames)`` runs after each frame went to the encoder
    (``frame_index`` is 0-based, so the last call has ``frame_index == total_frames - 1``).
    If anything raises -- e.g. ``JobAbandoned`` from a progress callback -- encoding stops,
    the container is closed, the drawing thread is stopped, both partial files are removed
    and the exception propagates.
    """
    scene = Scene(spec)
    total = scene.total_frames
    middle = total // 2

    def frames_with_thumbnail() -> Iterator[Image.Image]:
        for index, image in enumerate(scene.frames()):
            if index == middle:
                image.save(thumbnail_path, "JPEG", quality=THUMBNAIL_QUALITY)
            yield image

    report = (lambda index: on_frame(index, total)) if on_frame is not None else None
    frames = prefetched(frames_with_thumbnail())
    try:
        encode_frames(frames, scene.width, scene.height, video_path, report)
    except BaseException:
        frames.close()  # stop the drawing thread before removing what it may write
        video_path.unlink(missing_ok=True)
        thumbnail_path.unlink(missing_ok=True)
        raise


class LocalProvider(Provider):
    """Renders in-process with :func:`render`, reporting real per-frame progress.

    ``submit``/``status``/``download`` model a remote job that is created, polled and fetched;
    here there is no remote job -- the video exists only once this process has encoded it -- so
    :meth:`generate` is overridden and those three raise ``NotImplementedError``. ``cancel`` is
    a no-op: cancellation arrives as ``JobAbandoned`` from ``ctx.progress`` and stops the render
    at the next frame.
    """

    name = "local"
    capabilities = CAPABILITIES

    def generate(self, spec: VideoSpec, ctx: JobContext, workdir: Path) -> GeneratedAssets:
        """Write ``video.mp4`` and ``thumbnail.jpg`` into ``workdir``."""
        video, thumbnail = workdir / "video.mp4", workdir / "thumbnail.jpg"

        def progress(index: int, total: int) -> None:
            ctx.progress(100.0 * (index + 1) / total)

        render(spec, video, thumbnail, on_frame=progress)
        return GeneratedAssets(video=video, thumbnail=thumbnail)

    def submit(self, spec: VideoSpec) -> str:
        raise NotImplementedError(_IN_PROCESS)

    def status(self, provider_job_id: str) -> ProviderStatus:
        raise NotImplementedError(_IN_PROCESS)

    def download(self, provider_job_id: str, variant: str, dest: Path) -> None:
        raise NotImplementedError(_IN_PROCESS)

    def cancel(self, provider_job_id: str) -> None:
        """Nothing remote to cancel; a render stops at its next progress call."""


_IN_PROCESS = (
    "the local provider has no remote job: it renders in-process via generate(), "
    "which reports progress per frame"
)
