"""The ``openai`` provider: any endpoint shaped like the OpenAI Videos API.

OpenAI retired its Sora 2 API in September 2026, so this targets relays and self-hosted
gateways with the same shape through ``OPENAI_BASE_URL``. ``submit`` posts multipart like the
official SDK; the job id is remembered by the runner at once, so a redelivered message polls
the same remote job instead of paying for a second one.
"""

from __future__ import annotations

import email.utils
import os
import time
from pathlib import Path
from typing import Any

import httpx

from worker.providers.base import Capabilities, Provider, ProviderError, ProviderStatus, VideoSpec

CAPABILITIES = Capabilities(
    models=("sora-2", "sora-2-pro"),
    seconds=(4, 8, 12),
    sizes=("720x1280", "1280x720", "1024x1792", "1792x1024"),
    default_model="sora-2",
    default_seconds=4,
    default_size="1280x720",
)
PERMANENT_AUTH = {401, 403}
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_body(response: httpx.Response) -> tuple[str | None, str]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    message = str(error.get("message") or response.reason_phrase or "error")[:2000]
    return error.get("code"), message


def error_from_response(response: httpx.Response) -> ProviderError:
    """Map an HTTP error to a retryable or permanent :class:`ProviderError`."""
    status = response.status_code
    code, message = _error_body(response)
    text = f"provider answered {status}: {message}"
    if status == 429:
        return ProviderError(
            text,
            code="rate_limited",
            retryable=True,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status in RETRYABLE_STATUS:
        return ProviderError(
            text,
            code=code or "provider_unavailable",
            retryable=True,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status in PERMANENT_AUTH:
        return ProviderError(text, code="provider_auth_failed", status=status)
    return ProviderError(text, code=code or "invalid_request", status=status)


class OpenAICompatProvider(Provider):
    name = "openai"
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float = 30.0,
        poll_interval: float = 2.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or httpx.Client(timeout=timeout, headers=headers)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, f"{self.base_url}{path}", **kwargs)
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"provider timed out: {type(exc).__name__}", code="provider_timeout", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderError(
                f"provider unreachable: {type(exc).__name__}",
                code="provider_unavailable",
                retryable=True,
            ) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def submit(self, spec: VideoSpec) -> str:
        fields = {
            "prompt": spec.prompt,
            "model": spec.model,
            "seconds": str(spec.seconds),
            "size": spec.size,
        }
        files = {name: (None, value) for name, value in fields.items()}
        body = self._request("POST", "/videos", files=files).json()
        if not isinstance(body, dict) or not body.get("id"):
            raise ProviderError(
                "provider returned no video id", code="bad_provider_response", retryable=True
            )
        return str(body["id"])

    def status(self, provider_job_id: str) -> ProviderStatus:
        body = self._request("GET", f"/videos/{provider_job_id}").json()
        error = body.get("error") or {}
        return ProviderStatus(
            status=str(body.get("status", "in_progress")),
            progress=int(body.get("progress") or 0),
            error_code=error.get("code"),
            error_message=error.get("message"),
        )

    def download(self, provider_job_id: str, variant: str, dest: Path) -> None:
        staging = dest.with_name(f".{dest.name}.part")
        url = f"{self.base_url}/videos/{provider_job_id}/content"
        try:
            with self.client.stream("GET", url, params={"variant": variant}) as response:
                if response.status_code == 404:
                    raise ProviderError(
                        f"{variant} not ready at the provider",
                        code="asset_not_ready",
                        retryable=True,
                        status=404,
                    )
                if response.status_code >= 400:
                    response.read()
                    raise error_from_response(response)
                with open(staging, "wb") as handle:
                    for chunk in response.iter_bytes(1 << 16):
                        handle.write(chunk)
        except httpx.TransportError as exc:
            raise ProviderError(
                f"download failed: {type(exc).__name__}",
                code="provider_unavailable",
                retryable=True,
            ) from exc
        os.replace(staging, dest)

    def cancel(self, provider_job_id: str) -> None:
        """Best effort: ``POST /videos/{id}/cancel``, else ``DELETE /videos/{id}``."""
        for method, path in (
            ("POST", f"/videos/{provider_job_id}/cancel"),
            ("DELETE", f"/videos/{provider_job_id}"),
        ):
            try:
                self._request(method, path)
                return
            except ProviderError as exc:
                if exc.status not in (404, 405):
                    return
