"""A provider that generates nothing, for measuring the worker path itself.

It reports progress a few times (the runner decides which of those become writes, exactly as
for a real provider) and writes two tiny files, so storage and the fenced finish run too.
"""

from __future__ import annotations

from pathlib import Path

from worker.providers.base import Capabilities, GeneratedAssets, JobContext, Provider, VideoSpec

NAME = "null"
CAPABILITIES = Capabilities(
    models=("null-1",),
    seconds=(1, 2, 4, 8, 12),
    sizes=("320x180", "1280x720"),
    default_model="null-1",
    default_seconds=4,
    default_size="1280x720",
)
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000
THUMBNAIL_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9"


class NullProvider(Provider):
    name = NAME
    capabilities = CAPABILITIES

    def generate(self, spec: VideoSpec, ctx: JobContext, workdir: Path) -> GeneratedAssets:
        for percent in (10, 40, 70, 100):
            ctx.progress(percent)
        video, thumbnail = workdir / "video.mp4", workdir / "thumbnail.jpg"
        video.write_bytes(VIDEO_BYTES)
        thumbnail.write_bytes(THUMBNAIL_BYTES)
        return GeneratedAssets(video=video, thumbnail=thumbnail)

    def cancel(self, provider_job_id: str) -> None:
        """Nothing to cancel."""


def install() -> None:
    """Register ``null`` with the provider registry (and the runner's imported name)."""
    import worker.pipeline
    import worker.providers as providers

    if getattr(providers, "_bench_null_installed", False):
        return
    original_build, original_capabilities = providers.build_provider, providers.capabilities
    original_names = providers.provider_names

    def build_provider(name, config):
        return NullProvider() if name == NAME else original_build(name, config)

    def capabilities(name):
        return CAPABILITIES if name == NAME else original_capabilities(name)

    def provider_names():
        return (*original_names(), NAME)

    providers.build_provider = build_provider
    providers.capabilities = capabilities
    providers.provider_names = provider_names
    worker.pipeline.build_provider = build_provider
    providers._bench_null_installed = True
