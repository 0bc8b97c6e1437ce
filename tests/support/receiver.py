"""A webhook receiver on 127.0.0.1 that records every request and can fail on purpose."""

from __future__ import annotations

import threading

from flask import Flask, request
from werkzeug.serving import make_server


class WebhookReceiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], str, int]] = []
        self.answers: list[int] = []  # statuses to answer next, then 200
        self._lock = threading.Lock()
        app = Flask("receiver")

        @app.post("/hook")
        def hook():
            with self._lock:
                status = self.answers.pop(0) if self.answers else 200
                self.requests.append(
                    (dict(request.headers), request.get_data(as_text=True), status)
                )
            return ("ok" if status < 300 else "nope"), status

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def accepted(self) -> list[tuple[dict[str, str], str]]:
        return [(h, b) for h, b, status in self.requests if status < 300]
