"""Read a request body as a dict, whether JSON or a form (the openai SDK sends multipart)."""

from __future__ import annotations

from typing import Any

from flask import request

from webapp.api.errors import ApiError
from webapp.jobs.params import form_to_dict


def json_body() -> Any:
    """The parsed JSON body, or None when it is not valid JSON -- nested too deep included
    (the decoder raises RecursionError, not ValueError, for ``[[[[...``)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def request_data() -> dict[str, Any]:
    if request.is_json:
        body = json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
        return body
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if request.files:
            name = next(iter(request.files))
            raise ApiError(
                400,
                f"File parameter '{name}' is not supported.",
                param=name,
                code="unsupported_parameter",
            )
        return form_to_dict(request.form)
    if not request.get_data(cache=True):
        return {}
    raise ApiError(
        415,
        "Send JSON (application/json) or a form (multipart/form-data).",
        code="unsupported_media_type",
    )
