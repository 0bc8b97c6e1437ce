"""The OpenAI-style error envelope for the job API.

``{"error": {"type", "code", "message", "param", "request_id"}}`` -- every 4xx/5xx under
``/v1`` has this shape, never an HTML page or a stack trace.
"""

from __future__ import annotations

from typing import Any

from flask import g, jsonify
from werkzeug.exceptions import HTTPException

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
_CODES = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "rate_limit_exceeded",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """Raise anywhere in a /v1 request to answer with the error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,  # noqa: A002 - mirrors the envelope field
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.param = param
        self.type = type or _TYPES.get(status, "api_error")
        self.headers = headers or {}


def invalid(message: str, *, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, code=code, param=param)


def envelope(error: ApiError) -> dict[str, Any]:
    return {
        "error": {
            "type": error.type,
            "code": error.code,
            "message": error.message,
            "param": error.param,
            "request_id": getattr(g, "request_id", None),
        }
    }


def error_response(error: ApiError):
    response = jsonify(envelope(error))
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def from_http_exception(exc: HTTPException) -> ApiError:
    messages = {
        404: "No such route.",
        405: "Method not allowed for this route.",
        413: "The request body is too large.",
    }
    message = messages.get(exc.code or 500) or exc.description or "Request failed."
    return ApiError(exc.code or 500, message)
