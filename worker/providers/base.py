"""The provider interface: how a video gets made, whatever makes it.

A provider turns a :class:`VideoSpec` into two files (an MP4 and a JPEG thumbnail).
Remote providers follow the OpenAI Videos shape -- ``submit`` returns a provider job id,
``status`` polls it, ``download`` fetches a variant, ``cancel`` stops it -- and
:meth:`Provider.generate` drives those four calls. A provider that renders in-process
(``local``) overrides ``generate`` and renders directly, reporting per-frame progress.

Errors are :class:`ProviderError` with ``retryable`` telling the runner whether to try again
(rate limits, 5xx, timeouts) or fail the job at once (validation, policy, auth).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Capabilities:
    """What a provider accepts; the API validates requests against it."""

    models: tuple[str, ...]
    seconds: tuple[int, ...]
    sizes: tuple[str, ...]
    default_model: str
    default_seconds: int
    default_size: str


@dataclass(frozen=True)
class VideoSpec:
    """Everything a provider needs to make one video."""

    job_id: str
    prompt: str
    model: str
    seconds: int
    size: str  # "WIDTHxHEIGHT"

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])


@dataclass
class ProviderStatus:
    """One poll of a provider job."""

    status: str  # queued | in_progress | completed | failed | cancelled
    progress: int = 0
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class GeneratedAssets:
    """Files a provider produced, in a work directory the runner owns."""

    video: Path
    thumbnail: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """A provider failed. ``retryable`` decides retry-with-backoff vs. fail at once."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "provider_error",
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class JobContext(Protocol):
    """What a provider may do while working; the runner implements it.

    ``progress`` saves progress (0-100, monotone; the runner throttles writes), extends the
    lease, and raises :class:`JobAbandoned` when the job was cancelled or its lease lost, so
    the provider stops at the next progress point. ``remember_provider_job`` stores the
    provider job id the moment it exists; ``provider_job_id`` is the one stored by an earlier
    delivery, which must be resumed, never resubmitted.
    """

    provider_job_id: str | None

    def progress(self, percent: float) -> None: ...

    def remember_provider_job(self, provider_job_id: str) -> None: ...


class JobAbandoned(Exception):
    """Raised inside ``JobContext.progress`` when the work must stop (cancelled, lease lost)."""


class Provider:
    """Base class. Subclasses set ``name`` and ``capabilities`` and implement the four calls,
    or override :meth:`generate` for in-process rendering."""

    name: str = "base"
    capabilities: Capabilities
    poll_interval: float = 2.0

    def submit(self, spec: VideoSpec) -> str:
        raise NotImplementedError

    def status(self, provider_job_id: str) -> ProviderStatus:
        raise NotImplementedError

    def download(self, provider_job_id: str, variant: str, dest: Path) -> None:
        raise NotImplementedError

    def cancel(self, provider_job_id: str) -> None:
        raise NotImplementedError

    def generate(self, spec: VideoSpec, ctx: JobContext, workdir: Path) -> GeneratedAssets:
        """Submit (or resume), poll until final, download the video and thumbnail."""
        provider_job_id = ctx.provider_job_id
        if not provider_job_id:
            provider_job_id = self.submit(spec)
            ctx.remember_provider_job(provider_job_id)
        while True:
            state = self.status(provider_job_id)
            if state.status == "completed":
                break
            if state.status in ("failed", "cancelled"):
                raise ProviderError(
                    state.error_message or f"provider job {state.status}",
                    code=state.error_code or f"generation_{state.status}",
                    retryable=False,
                )
            try:
                ctx.progress(min(state.progress, 99))
            except JobAbandoned:
                self.cancel(provider_job_id)
                raise
            time.sleep(self.poll_interval)
        video = workdir / "video.mp4"
        self.download(provider_job_id, "video", video)
        thumbnail: Path | None = workdir / "thumbnail.jpg"
        try:
            self.download(provider_job_id, "thumbnail", thumbnail)
        except ProviderError:
            thumbnail = None
        return GeneratedAssets(video=video, thumbnail=thumbnail)
