"""Providers for fault tests and benchmarks, available only with ``ENABLE_TEST_PROVIDERS=true``.

- ``crash``: kills its own worker process (SIGKILL) in the middle of generating -- a poison
  job, like one that runs the worker out of memory.
- ``null``: makes two tiny files instantly, reporting progress a few times -- the pipeline's
  cost (claim, progress, storage, fenced finish) without any rendering.
- ``sleep``: like ``null`` after ``seconds`` of wall time spent idle, reporting progress (and
  so holding its lease) as it goes -- a long job whose length does not depend on how fast
  the machine renders.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from worker.providers.base import Capabilities, GeneratedAssets, JobContext, Provider, VideoSpec

CAPABILITIES = Capabilities(
    models=("sora-2",),
    seconds=(1, 2, 4, 8, 12),
    sizes=("320x180", "1280x720"),
    default_model="sora-2",
    default_seconds=1,
    default_size="320x180",
)


class CrashProvider(Provider):
    name = "crash"
    capabilities = CAPABILITIES

    def generate(self, spec: VideoSpec, ctx: JobContext, workdir: Path) -> GeneratedAssets:
        ctx.progress(10)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


class NullProvider(Provider):
    name = "null"
    capabilities = CAPABILITIES

    def generate(self, spec: VideoSpec, ctx: JobContext, workdir: Path) -> GeneratedAssets:
        for percent in (25, 50, 75, 100):
            ctx.progress(percent)
        video, thumbnail = workdir / "video.mp4", workdir / "thumbnail.jpg"
        video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + spec.job_id.encode())
        thumbnail.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9")
        return GeneratedAssets(video=video, thumbnail=thumbnail)


class SleepProvider(NullProvider):
    name = "sleep"

    def generate(self, spec: VideoSpec, ctx: JobContext, workdir: Path) -> GeneratedAssets:
        deadline = time.monotonic() + spec.seconds
        while (left := deadline - time.monotonic()) > 0:
            ctx.progress(100 * (1 - left / spec.seconds))
            time.sleep(min(0.25, left))
        return super().generate(spec, ctx, workdir)


TEST_PROVIDERS = {"crash": CrashProvider, "null": NullProvider, "sleep": SleepProvider}


def enabled() -> bool:
    return os.environ.get("ENABLE_TEST_PROVIDERS", "").lower() == "true"
