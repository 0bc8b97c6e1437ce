"""Request ids: accept a sane ``X-Request-Id`` or make one; echo it on every response."""

from __future__ import annotations

import re

from flask import Flask, g, request

from webapp.ids import new_id

_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _SAFE.match(incoming) else new_id("req")

    @app.after_request
    def echo_request_id(response):
        request_id = g.get("request_id") or new_id("req")
        response.headers["X-Request-Id"] = request_id
        return response
