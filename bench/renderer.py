"""The ``local`` provider's render of a 4-second 1280x720 clip vs encoding the same frames.

- ours: ``worker.providers.local.render(spec, video, thumbnail)`` -- scene set-up, drawing
  every frame (in the prefetch thread), thumbnail, encoding;
- baseline: ``encode_frames`` over the same frames drawn beforehand (not timed), same codec
  settings (libx264, yuv420p, ``ENCODER_OPTIONS``, ``+faststart``).

Ratio = encode-only seconds / render seconds (1.0 = drawing is free). Medians of R runs after
one warm-up of each. Peak RSS: one render in a fresh subprocess, read with
``getrusage(RUSAGE_CHILDREN).ru_maxrss``; an import-only subprocess is shown for reference.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import time
from pathlib import Path

from bench.common import PY, ROOT, Result, log, main_for, median, workdir

TARGET = 0.6
RSS_TARGET_MB = 300.0
PROMPT = "a paper boat drifting down a misty river at dawn, reeds and fireflies, 35mm film"


def spec():
    from worker.providers.base import VideoSpec

    return VideoSpec("video_bench", PROMPT, "sora-2", 4, "1280x720")


def time_render(out: Path) -> float:
    from worker.providers.local import render

    started = time.perf_counter()
    render(spec(), out / "video.mp4", out / "thumbnail.jpg")
    return time.perf_counter() - started


def time_encode(frames, out: Path) -> float:
    from worker.providers.local import encode_frames

    started = time.perf_counter()
    count = encode_frames(iter(frames), 1280, 720, out / "encoded.mp4")
    elapsed = time.perf_counter() - started
    assert count == len(frames)
    return elapsed


def child_maxrss_mb(code: str) -> float:
    """Peak RSS of a fresh interpreter running ``code`` (this process's only child then)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([PY, "-c", code], cwd=ROOT, check=True, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before and before:
        log("  note: an earlier child had a larger peak; RSS figure is a lower bound")
    return after / 1024  # KiB on Linux


def run(args: argparse.Namespace) -> list[Result]:
    repeats = 1 if args.quick else 3
    with workdir("renderer") as scratch:
        # RSS first, while this process has had no other children.
        render_code = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from pathlib import Path\n"
            "from bench.renderer import spec\n"
            "from worker.providers.local import render\n"
            f"out = Path({str(scratch)!r})\n"
            "render(spec(), out / 'rss.mp4', out / 'rss.jpg')\n"
        )
        rss = child_maxrss_mb(render_code)
        import_code = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); import worker.providers.local"
        )
        base_rss = _import_rss(import_code)
        log(f"renderer: peak RSS of a render {rss:.0f} MB (imports alone {base_rss:.0f} MB)")

        from worker.providers.local import Scene

        frames = list(Scene(spec()).frames())
        time_render(scratch)
        time_encode(frames, scratch)
        renders, encodes = [], []
        for _ in range(repeats):
            renders.append(time_render(scratch))
            encodes.append(time_encode(frames, scratch))
        size_kb = (scratch / "video.mp4").stat().st_size / 1024
        del frames
    render_s, encode_s = median(renders), median(encodes)
    log(f"  render {render_s:.2f}s, encode-only {encode_s:.2f}s ({len(renders)} runs each)")
    ratio = encode_s / render_s
    return [
        Result(
            name="renderer 4s 1280x720 (render vs encode-only)",
            ours=render_s,
            baseline=encode_s,
            ratio=ratio,
            target=f">= {TARGET}",
            passed=ratio >= TARGET,
            unit="s",
            note=(
                f"96 frames, libx264 veryfast crf 23; renders {[round(x, 2) for x in renders]} s, "
                f"encodes {[round(x, 2) for x in encodes]} s; output {size_kb:.0f} KiB"
            ),
        ),
        Result(
            name="renderer peak RSS (fresh process)",
            ours=rss,
            baseline=base_rss,
            ratio=None,
            target=f"< {RSS_TARGET_MB:g} MB",
            passed=rss < RSS_TARGET_MB,
            unit="MB",
            note="baseline column = the same interpreter after only importing the provider",
        ),
    ]


def _import_rss(code: str) -> float:
    """Peak RSS of an import-only child, measured by a wrapper process (so this process's
    own RUSAGE_CHILDREN figure stays the render's)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        f"subprocess.run([sys.executable, '-c', {code!r}], check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [PY, "-c", wrapper], cwd=ROOT, check=True, timeout=120, capture_output=True, text=True
    ).stdout
    return int(out.strip().splitlines()[-1]) / 1024


if __name__ == "__main__":
    main_for(run, __doc__.splitlines()[0])
