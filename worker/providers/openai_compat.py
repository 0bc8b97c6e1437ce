"""The ``openai`` provider: any endpoint shaped like the OpenAI Videos API.

OpenAI retired its Sora 2 API in September 2026, so this targets relays and self-hosted
gateways with the same shape through ``OPENAI_BASE_URL``. ``submit`` posts multipart like the
official SDK; the job id is remembered by the runner at once, so a redelivered message polls
the same remote job instead of paying for a second one.

Every HTTP answer goes through one mapping (:func:`error_from_response`): 429 is retryable
(``rate_limited``, honouring ``Retry-After``), 408/409/425/5xx and transport errors are
retryable, other 4xx are permanent (401/403 -> ``provider_auth_failed``; 400/404/422 -> the
code from the ``{"error": {...}}`` envelope, e.g. ``moderation_blocked``, else
``invalid_request``). The API key never appears in an error message.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import os
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from worker.providers.base import Capabilities, Provider, ProviderError, ProviderStatus, VideoSpec

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    models=("sora-2", "sora-2-pro"),
    seconds=(4, 8, 12),
    sizes=("720x1280", "1280x720", "1024x1792", "1792x1024"),
    default_model="sora-2",
    default_seconds=4,
    default_size="1280x720",
)
PERMANENT_AUTH = frozenset({401, 403})
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})  # and every 5xx
MAX_MESSAGE = 2000
CHUNK = 1 << 16


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if
    absent or unparseable, never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def _retry_after(response: httpx.Response) -> float | None:
    """``retry-after-ms`` (sent by OpenAI and honoured by its SDK) wins over ``Retry-After``."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    return parse_retry_after(response.headers.get("Retry-After"))


def _redact(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "[redacted]")
    return text[:MAX_MESSAGE]


def _error_body(response: httpx.Response) -> tuple[str | None, str]:
    """``(code, message)`` from an OpenAI error envelope, tolerating any other body."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, str):
        error = {"message": error}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    code = str(code) if code not in (None, "") else None
    message = error.get("message") or response.reason_phrase or "error"
    return code, str(message)


def error_from_response(response: httpx.Response, *, secret: str | None = None) -> ProviderError:
    """Map an HTTP error answer to a retryable or permanent :class:`ProviderError`.

    ``secret`` (the API key) is scrubbed from the message in case the server echoes it.
    """
    status = response.status_code
    code, message = _error_body(response)
    text = _redact(f"provider answered {status}: {message}", secret)
    if status == 429:
        return ProviderError(
            text,
            code="rate_limited",
            retryable=True,
            retry_after=_retry_after(response),
            status=status,
        )
    if status in RETRYABLE_STATUS or status >= 500:
        fallback = "provider_timeout" if status in (408, 504) else "provider_unavailable"
        return ProviderError(
            text,
            code=code or fallback,
            retryable=True,
            retry_after=_retry_after(response),
            status=status,
        )
    if status in PERMANENT_AUTH:
        return ProviderError(text, code="provider_auth_failed", status=status)
    return ProviderError(text, code=code or "invalid_request", status=status)


class OpenAICompatProvider(Provider):
    """Client for ``{base_url}/videos`` endpoints (OpenAI Videos API shape)."""

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
        self._api_key = api_key or None
        self._headers = {"Accept": "application/json", "User-Agent": "reelqueue-openai-compat"}
        if self._api_key:
            self._headers["Authorization"] = f"Bearer {self._api_key}"
        self._owns_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False
        )

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self.client.close()

    # -- plumbing ----------------------------------------------------------------------------
    def _transport_error(self, exc: httpx.TransportError, what: str) -> ProviderError:
        detail = _redact(f"{what}: {type(exc).__name__}: {exc}", self._api_key)
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(
                f"provider timed out during {detail}", code="provider_timeout", retryable=True
            )
        return ProviderError(
            f"provider unreachable during {detail}", code="provider_unavailable", retryable=True
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(
                method, f"{self.base_url}{path}", headers=self._headers, **kwargs
            )
        except httpx.TransportError as exc:
            raise self._transport_error(exc, f"{method} {path}") from exc
        if response.status_code >= 400:
            raise error_from_response(response, secret=self._api_key)
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                f"provider answered {response.status_code} without a JSON object",
                code="bad_provider_response",
                retryable=True,
                status=response.status_code,
            )
        return body

    # -- the four calls ----------------------------------------------------------------------
    def submit(self, spec: VideoSpec) -> str:
        fields = {
            "prompt": spec.prompt,
            "model": spec.model,
            "seconds": str(spec.seconds),
            "size": spec.size,
        }
        # (None, value) parts are plain form fields: multipart/form-data, like the SDK.
        files = {name: (None, value) for name, value in fields.items()}
        body = self._json(self._request("POST", "/videos", files=files))
        video_id = body.get("id")
        if not isinstance(video_id, str) or not video_id:
            raise ProviderError(
                "provider returned no video id", code="bad_provider_response", retryable=True
            )
        return video_id

    def status(self, provider_job_id: str) -> ProviderStatus:
        body = self._json(self._request("GET", f"/videos/{provider_job_id}"))
        error = body.get("error")
        if isinstance(error, str):
            error = {"message": error}
        if not isinstance(error, dict):
            error = {}
        try:
            progress = int(float(body.get("progress") or 0))
        except (TypeError, ValueError):
            progress = 0
        code, message = error.get("code"), error.get("message")
        return ProviderStatus(
            status=str(body.get("status") or "in_progress").lower(),
            progress=max(0, min(100, progress)),
            error_code=str(code) if code else None,
            error_message=_redact(str(message), self._api_key) if message else None,
        )

    def download(self, provider_job_id: str, variant: str, dest: Path) -> None:
        """Stream one variant (``video`` | ``thumbnail``) to ``dest`` through a temp file in the
        same folder, renamed into place only once complete."""
        path = f"/videos/{provider_job_id}/content"
        fd, staging_name = tempfile.mkstemp(
            prefix=f".{dest.name}.", suffix=".part", dir=dest.parent
        )
        staging = Path(staging_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                try:
                    with self.client.stream(
                        "GET",
                        f"{self.base_url}{path}",
                        params={"variant": variant},
                        headers={**self._headers, "Accept": "*/*"},
                    ) as response:
                        if response.status_code == 404:
                            raise ProviderError(
                                f"{variant} of {provider_job_id} is not ready at the provider",
                                code="asset_not_ready",
                                retryable=True,
                                status=404,
                            )
                        if response.status_code >= 400:
                            response.read()
                            raise error_from_response(response, secret=self._api_key)
                        written = 0
                        for chunk in response.iter_bytes(CHUNK):
                            handle.write(chunk)
                            written += len(chunk)
                except httpx.TransportError as exc:
                    raise self._transport_error(exc, f"GET {path}?variant={variant}") from exc
            if written == 0:
                raise ProviderError(
                    f"provider sent an empty {variant} for {provider_job_id}",
                    code="empty_asset",
                    retryable=True,
                    status=response.status_code,
                )
            os.replace(staging, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                staging.unlink()
            raise

    def cancel(self, provider_job_id: str) -> None:
        """Best effort: ``POST /videos/{id}/cancel``, else ``DELETE /videos/{id}`` when the
        gateway has no cancel route (404/405). Never raises: the job is being abandoned."""
        try:
            self._request("POST", f"/videos/{provider_job_id}/cancel")
            return
        except ProviderError as exc:
            if exc.status not in (404, 405):
                log.warning("cancel of %s failed: %s", provider_job_id, exc.message)
                return
        try:
            self._request("DELETE", f"/videos/{provider_job_id}")
        except ProviderError as exc:
            if exc.status != 404:
                log.warning("delete of %s failed: %s", provider_job_id, exc.message)
