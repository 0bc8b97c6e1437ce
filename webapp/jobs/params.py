"""Parse and validate job-creation input (JSON or multipart) into plain values.

Every rejection is a 400 :class:`ApiError` naming the parameter, in the OpenAI envelope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.api.errors import ApiError, invalid
from worker.providers import capabilities, provider_names

MAX_PROMPT_CHARS = 4000
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512
VIDEO_FIELDS = frozenset(
    {"prompt", "model", "seconds", "size", "provider", "storyboard_id", "metadata"}
)


@dataclass(frozen=True)
class VideoParams:
    prompt: str
    provider: str
    model: str
    seconds: int
    size: str
    storyboard_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def clean_text(value: Any, param: str, *, max_chars: int, required: bool = True) -> str | None:
    """A stripped string without NUL characters (PostgreSQL cannot store them)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(f"'{param}' is required.", param=param, code="missing_required_parameter")
        return None
    if not isinstance(value, str):
        raise invalid(f"'{param}' must be a string.", param=param, code="invalid_type")
    value = value.strip()
    if "\x00" in value:
        raise invalid(f"'{param}' must not contain NUL characters.", param=param)
    if len(value) > max_chars:
        raise invalid(f"'{param}' must be at most {max_chars} characters.", param=param)
    return value


def parse_metadata(raw: Any, param: str = "metadata") -> dict[str, str]:
    """Client-owned key/value pairs (OpenAI's convention: 16 keys, string values)."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise invalid(f"'{param}' must be a JSON object.", param=param) from None
    if not isinstance(raw, dict):
        raise invalid(f"'{param}' must be an object of string values.", param=param)
    if len(raw) > MAX_METADATA_KEYS:
        raise invalid(f"'{param}' may have at most {MAX_METADATA_KEYS} keys.", param=param)
    cleaned: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key or len(key) > MAX_METADATA_KEY_CHARS:
            raise invalid(
                f"'{param}' keys must be 1-{MAX_METADATA_KEY_CHARS} characters.", param=param
            )
        if not isinstance(value, str):
            raise invalid(f"'{param}.{key}' must be a string.", param=f"{param}.{key}")
        if "\x00" in key or "\x00" in value:
            raise invalid(f"'{param}' must not contain NUL characters.", param=param)
        if len(value) > MAX_METADATA_VALUE_CHARS:
            raise invalid(
                f"'{param}.{key}' must be at most {MAX_METADATA_VALUE_CHARS} characters.",
                param=f"{param}.{key}",
            )
        cleaned[key] = value
    return cleaned


def parse_provider(value: Any, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in provider_names():
        names = ", ".join(provider_names())
        raise invalid(f"'provider' must be one of: {names}.", param="provider")
    return value


def parse_seconds(value: Any, allowed: tuple[int, ...], default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid("'seconds' must be a number of seconds.", param="seconds")
    try:
        seconds = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or seconds not in allowed:
        choices = ", ".join(f'"{s}"' for s in allowed)
        raise invalid(f"'seconds' must be one of {choices}.", param="seconds")
    return seconds


def parse_choice(value: Any, param: str, allowed: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in allowed:
        raise invalid(f"'{param}' must be one of: {', '.join(allowed)}.", param=param)
    return value


def reject_unknown(data: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in data:
        base = key.split("[", 1)[0]
        if base not in known:
            raise invalid(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")


def parse_video(data: Mapping[str, Any], *, default_provider: str) -> VideoParams:
    """Validate one video request against the chosen provider's capabilities."""
    reject_unknown(data, VIDEO_FIELDS)
    prompt = clean_text(data.get("prompt"), "prompt", max_chars=MAX_PROMPT_CHARS)
    provider = parse_provider(data.get("provider"), default_provider)
    caps = capabilities(provider)
    storyboard_id = clean_text(
        data.get("storyboard_id"), "storyboard_id", max_chars=48, required=False
    )
    return VideoParams(
        prompt=prompt,
        provider=provider,
        model=parse_choice(data.get("model"), "model", caps.models, caps.default_model),
        seconds=parse_seconds(data.get("seconds"), caps.seconds, caps.default_seconds),
        size=parse_choice(data.get("size"), "size", caps.sizes, caps.default_size),
        storyboard_id=storyboard_id,
        metadata=parse_metadata(data.get("metadata")),
    )


def form_to_dict(form: Mapping[str, Any]) -> dict[str, Any]:
    """Multipart fields as a dict; ``metadata[key]=value`` pairs (the SDK's encoding) nest."""
    data: dict[str, Any] = {}
    for key in form:
        if not isinstance(key, str) or not key:
            raise invalid("Every form field needs a name.", code="invalid_form")
        value = form[key]
        if key.startswith("metadata[") and key.endswith("]"):
            data.setdefault("metadata", {})
            if not isinstance(data["metadata"], dict):
                raise invalid("'metadata' given twice.", param="metadata")
            data["metadata"][key[len("metadata[") : -1]] = value
        else:
            data[key] = value
    return data


def parse_limit(raw: str | None, *, default: int = 20, maximum: int = 100) -> int:
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise invalid("'limit' must be a whole number.", param="limit") from None
    if not 1 <= limit <= maximum:
        raise invalid(f"'limit' must be between 1 and {maximum}.", param="limit")
    return limit


def parse_order(raw: str | None) -> str:
    if raw in (None, ""):
        return "desc"
    if raw not in ("asc", "desc"):
        raise invalid("'order' must be 'asc' or 'desc'.", param="order")
    return raw


def parse_cursor(raw: str | None, param: str, prefix: str) -> str | None:
    if raw in (None, ""):
        return None
    if (
        not raw.startswith(prefix + "_")
        or len(raw) > 64
        or not raw.isascii()
        or not raw.isprintable()
    ):
        raise invalid(f"'{param}' must be an id like '{prefix}_...'.", param=param)
    return raw


def require_body_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return body
