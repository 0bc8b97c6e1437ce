"""The offline ``local`` provider renders a real, deterministic H.264 MP4 and a JPEG thumbnail."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import pytest
from PIL import Image, ImageFont

from worker.providers.base import JobAbandoned, VideoSpec
from worker.providers.local import FPS, LocalProvider, render, wrap_text

pytestmark = pytest.mark.unit


class RecordingContext:
    """A ``JobContext`` that records every progress call; optionally abandons at a threshold."""

    def __init__(self, abandon_at: float | None = None) -> None:
        self.provider_job_id: str | None = None
        self.calls: list[float] = []
        self.abandon_at = abandon_at

    def progress(self, percent: float) -> None:
        self.calls.append(percent)
        if self.abandon_at is not None and percent >= self.abandon_at:
            raise JobAbandoned("cancelled by the test")

    def remember_provider_job(self, provider_job_id: str) -> None:
        self.provider_job_id = provider_job_id


def spec(prompt: str = "a lighthouse in a storm", seconds: int = 1, size: str = "320x180"):
    return VideoSpec("video_test", prompt, "sora-2", seconds, size)


def decoded_frames(path: Path, indexes: set[int]) -> dict[int, bytes]:
    """RGB bytes of the frames at ``indexes`` (decode order == display order: no B-frame
    reordering is visible after decoding)."""
    wanted: dict[int, bytes] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in indexes:
                wanted[index] = frame.to_image().tobytes()
    return wanted


@pytest.mark.parametrize("seconds", [1, 2])
def test_generate_writes_h264_of_the_requested_size_frames_and_duration(tmp_path, seconds):
    ctx = RecordingContext()
    assets = LocalProvider().generate(spec(seconds=seconds), ctx, tmp_path)

    assert assets.video == tmp_path / "video.mp4"
    assert assets.thumbnail == tmp_path / "thumbnail.jpg"
    with av.open(str(assets.video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (320, 180)
        assert stream.format.name == "yuv420p"
        assert stream.frames == seconds * FPS
        assert abs(float(stream.duration * stream.time_base) - seconds) <= 1 / FPS
        assert abs(container.duration / av.time_base - seconds) <= 1 / FPS
        assert sum(1 for _ in container.decode(video=0)) == seconds * FPS


def test_mp4_is_faststart(tmp_path):
    LocalProvider().generate(spec(), RecordingContext(), tmp_path)
    data = (tmp_path / "video.mp4").read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_progress_is_per_frame_monotone_and_reaches_100(tmp_path):
    ctx = RecordingContext()
    LocalProvider().generate(spec(seconds=1), ctx, tmp_path)

    assert len(ctx.calls) == 1 * FPS
    assert all(0 <= p <= 100 for p in ctx.calls)
    assert all(a <= b for a, b in zip(ctx.calls, ctx.calls[1:], strict=False))
    assert ctx.calls[-1] == 100


def test_same_prompt_renders_the_same_frames_and_different_prompts_differ(tmp_path):
    paths = {}
    for name, prompt in [("a1", "a red fox"), ("a2", "a red fox"), ("b", "a blue whale")]:
        paths[name] = tmp_path / f"{name}.mp4"
        render(spec(prompt), paths[name], tmp_path / f"{name}.jpg")
    first, middle = 0, FPS // 2
    a1 = decoded_frames(paths["a1"], {first, middle})
    a2 = decoded_frames(paths["a2"], {first, middle})
    b = decoded_frames(paths["b"], {first, middle})

    assert a1[first] == a2[first]
    assert a1[middle] == a2[middle]
    assert a1[first] != b[first]
    assert a1[middle] != b[middle]
    assert a1[first] != a1[middle]  # the picture moves
    assert (tmp_path / "a1.jpg").read_bytes() == (tmp_path / "a2.jpg").read_bytes()


def test_thumbnail_is_a_jpeg_of_the_requested_size(tmp_path):
    assets = LocalProvider().generate(spec(size="640x360"), RecordingContext(), tmp_path)
    with Image.open(assets.thumbnail) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == (640, 360)
        thumbnail.verify()


def test_long_prompt_still_renders(tmp_path):
    prompt = "an extraordinarily long prompt " * 40 + "x" * 500
    render(spec(prompt), tmp_path / "v.mp4", tmp_path / "t.jpg")
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert container.streams.video[0].frames == FPS


def test_wrap_text_fits_the_width_and_ends_cut_text_with_an_ellipsis():
    font = ImageFont.load_default(size=12)
    lines = wrap_text("word " * 200 + "x" * 300, font, max_width=150, max_lines=3)
    assert len(lines) == 3
    assert all(font.getlength(line) <= 150 for line in lines)
    assert lines[-1].endswith("\u2026")

    assert wrap_text("a short prompt", font, max_width=300, max_lines=3) == ["a short prompt"]
    broken = wrap_text("y" * 80, font, max_width=100, max_lines=5)
    assert len(broken) > 1 and all(font.getlength(line) <= 100 for line in broken)


def test_abandoned_job_stops_rendering_cleans_up_and_reraises(tmp_path):
    ctx = RecordingContext(abandon_at=50)
    threads_before = set(threading.enumerate())

    # Holding the exception keeps render's frame alive, so the drawing thread must have been
    # stopped explicitly, not by garbage collection.
    with pytest.raises(JobAbandoned, match="cancelled by the test") as excinfo:
        LocalProvider().generate(spec(seconds=2), ctx, tmp_path)

    assert len(ctx.calls) < 2 * FPS
    assert ctx.calls[-1] >= 50
    assert len(ctx.calls) == FPS  # stopped at the first call at or past 50%
    assert not (tmp_path / "video.mp4").exists()
    assert not (tmp_path / "thumbnail.jpg").exists()
    assert set(threading.enumerate()) <= threads_before  # the drawing thread is gone
    assert excinfo.value is not None


def test_remote_calls_are_not_used_and_cancel_is_a_no_op():
    provider = LocalProvider()
    assert provider.name == "local"
    assert provider.capabilities.default_size == "1280x720"
    for call in (
        lambda: provider.submit(spec()),
        lambda: provider.status("x"),
        lambda: provider.download("x", "video", Path("unused")),
    ):
        with pytest.raises(NotImplementedError, match="in-process"):
            call()
    assert provider.cancel("x") is None
