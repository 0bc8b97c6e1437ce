"""Request ids: accept a sane ``X-Request-Id`` or make one; echo it on every response."""

from __future__ import annotations

import re

from flask import Flask, abort, g, request

from webapp.ids import new_id

_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _SAFE.match(incoming) else new_id("req")

    @app.before_request
    def refuse_nul_characters() -> None:
        """PostgreSQL can neither store nor compare NUL: an id or filter holding one would
        be a 500. No id has one, so the path is a 404 and the query string a 400."""
        if "\x00" in request.path:
            abort(404)
        if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            abort(400, "NUL characters are not allowed in the query string.")

    @app.after_request
    def echo_request_id(response):
        request_id = g.get("request_id") or new_id("req")
        response.headers["X-Request-Id"] = request_id
        return response
