"""A local fake of an OpenAI-compatible videos endpoint, scriptable per test.

Real HTTP on 127.0.0.1 (werkzeug in a thread, free port)::

    with FakeVideosServer(api_key="sk-test", video_bytes=mp4) as fake:
        fake.url                                        # "http://127.0.0.1:PORT/v1"
        fake.polls_to_complete = 3                      # in_progress 33, 66, then completed
        fake.fail_next_submits(2, status=429, retry_after=0)
        fake.fail_next(1, status=500)                   # any request
        fake.fail_generation("moderation_blocked", "blocked by policy")
        fake.requests                                   # [(method, path, form_or_json), ...]
        fake.submits()                                  # how many POST /v1/videos

Routes: ``POST /v1/videos`` (multipart, urlencoded or JSON), ``GET /v1/videos/<id>``,
``GET /v1/videos/<id>/content?variant=video|thumbnail``, ``POST /v1/videos/<id>/cancel``,
``DELETE /v1/videos/<id>``. Errors use the OpenAI envelope
``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

MODELS = ("sora-2", "sora-2-pro")
SECONDS = ("4", "8", "12")
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
VARIANTS = ("video", "thumbnail")


class RecordedRequest(tuple):
    """One request as ``(method, path, body)`` -- compares equal to a plain 3-tuple -- with
    ``.query``, ``.headers`` and ``.content_type`` for closer inspection."""

    query: dict[str, str]
    headers: dict[str, str]

    def __new__(cls, method: str, path: str, body: dict, *, query: dict, headers: dict):
        self = super().__new__(cls, (method, path, body))
        self.query = query
        self.headers = headers
        return self

    @property
    def method(self) -> str:
        return self[0]

    @property
    def path(self) -> str:
        return self[1]

    @property
    def body(self) -> dict:
        return self[2]

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


@dataclass
class ScriptedFailure:
    status: int
    retry_after: float | str | None = None
    code: str | None = None
    message: str | None = None


@dataclass
class RemoteJob:
    id: str
    prompt: str
    model: str
    seconds: str
    size: str
    polls: int = 0
    status: str = "queued"
    progress: int = 0
    error: dict | None = None
    fails_with: dict | None = None  # decided at submit time
    created_at: int = field(default_factory=lambda: int(time.time()))
    completed_at: int | None = None


class FakeVideosServer:
    """See the module docstring. Attributes tests may set at any time: ``api_key`` (``None``
    accepts any caller), ``video_bytes``, ``thumbnail_bytes`` (``None``: the thumbnail 404s),
    ``polls_to_complete``, ``cancel_supported`` (``False``: ``POST .../cancel`` is an unknown
    route, 404), ``delay`` (seconds every answer waits, for timeouts)."""

    def __init__(
        self,
        *,
        api_key: str | None = "sk-fake",
        video_bytes: bytes = b"\x00\x00\x00\x18ftypmp42fake-mp4",
        thumbnail_bytes: bytes | None = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9",
    ) -> None:
        self.api_key = api_key
        self.video_bytes = video_bytes
        self.thumbnail_bytes = thumbnail_bytes
        self.polls_to_complete = 1
        self.cancel_supported = True
        self.delay = 0.0
        self.jobs: dict[str, RemoteJob] = {}
        self.requests: list[RecordedRequest] = []
        self._submit_failures: list[ScriptedFailure] = []
        self._any_failures: list[ScriptedFailure] = []
        self._generation_error: dict | None = None
        self._prompt_errors: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self.app = self._build_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False

    # -- scripting ---------------------------------------------------------------------------
    def fail_next_submits(
        self,
        count: int,
        *,
        status: int = 429,
        retry_after: float | str | None = 0,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``count`` ``POST /v1/videos`` answer ``status`` (with ``Retry-After`` unless
        ``retry_after`` is None; error code ``code`` or ``http_<status>``)."""
        with self._lock:
            self._submit_failures += [ScriptedFailure(status, retry_after, code, message)] * count

    def fail_next(
        self,
        count: int,
        *,
        status: int = 500,
        retry_after: float | str | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``count`` requests of any kind answer ``status``."""
        with self._lock:
            self._any_failures += [ScriptedFailure(status, retry_after, code, message)] * count

    def fail_generation(self, code: str, message: str) -> None:
        """Jobs submitted from now on end ``failed`` with this error."""
        self._generation_error = {"code": code, "message": message}

    def fail_prompts_containing(self, marker: str, code: str, message: str) -> None:
        """Jobs submitted from now on whose prompt contains ``marker`` end ``failed``."""
        self._prompt_errors[marker] = {"code": code, "message": message}

    def clear_failures(self) -> None:
        """Forget every scripted failure (HTTP and generation) not yet used."""
        with self._lock:
            self._prompt_errors.clear()
            self._generation_error = None
            self._submit_failures.clear()
            self._any_failures.clear()

    def submits(self) -> int:
        """How many ``POST /v1/videos`` arrived (including rejected ones)."""
        return sum(1 for r in list(self.requests) if r.method == "POST" and r.path == "/v1/videos")

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeVideosServer:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> FakeVideosServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the endpoint ------------------------------------------------------------------------
    @staticmethod
    def _error(
        status: int,
        message: str,
        code: str | None,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        retry_after: float | str | None = None,
    ) -> Response:
        response = jsonify(
            {"error": {"message": message, "type": kind, "param": param, "code": code}}
        )
        response.status_code = status
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def _scripted(self, failure: ScriptedFailure) -> Response:
        kind = "server_error" if failure.status >= 500 else "invalid_request_error"
        if failure.status == 429:
            kind = "rate_limit_error"
        return self._error(
            failure.status,
            failure.message or f"scripted {failure.status}",
            failure.code or f"http_{failure.status}",
            kind=kind,
            retry_after=failure.retry_after,
        )

    @staticmethod
    def _object(job: RemoteJob) -> dict:
        return {
            "id": job.id,
            "object": "video",
            "status": job.status,
            "progress": job.progress,
            "model": job.model,
            "seconds": job.seconds,
            "size": job.size,
            "prompt": job.prompt,
            "created_at": job.created_at,
            "completed_at": job.completed_at,
            "expires_at": job.completed_at + 86400 if job.completed_at else None,
            "remixed_from_video_id": None,
            "error": job.error,
        }

    def _build_app(self) -> Flask:
        app = Flask("fake-openai-videos")

        @app.before_request
        def record_and_gate():
            form = request.form.to_dict()
            body = form or request.get_json(silent=True) or {}
            with self._lock:
                self.requests.append(
                    RecordedRequest(
                        request.method,
                        request.path,
                        body,
                        query=request.args.to_dict(),
                        headers=dict(request.headers),
                    )
                )
            if self.delay:
                time.sleep(self.delay)
            with self._lock:
                presented = request.headers.get("Authorization", "")
                if self.api_key and presented != f"Bearer {self.api_key}":
                    token = presented.removeprefix("Bearer ").strip()
                    # Echo the presented key, as careless gateways do: clients must scrub it.
                    text = (
                        f"Incorrect API key provided: {token}."
                        if token
                        else ("You didn't provide an API key.")
                    )
                    return self._error(401, text, "invalid_api_key")
                if self._any_failures:
                    return self._scripted(self._any_failures.pop(0))
                is_submit = request.method == "POST" and request.path == "/v1/videos"
                if is_submit and self._submit_failures:
                    return self._scripted(self._submit_failures.pop(0))
            return None

        @app.post("/v1/videos")
        def create():
            data = request.form if request.form else (request.get_json(silent=True) or {})
            prompt = str(data.get("prompt") or "")
            if not prompt:
                return self._error(
                    400,
                    "Missing required parameter: 'prompt'.",
                    "missing_required_parameter",
                    param="prompt",
                )
            values = {
                "model": (str(data.get("model", "sora-2")), MODELS),
                "seconds": (str(data.get("seconds", "4")), SECONDS),
                "size": (str(data.get("size", "1280x720")), SIZES),
            }
            for param, (value, allowed) in values.items():
                if value not in allowed:
                    return self._error(
                        400,
                        f"Invalid value: '{value}'. Supported values are: "
                        + ", ".join(f"'{a}'" for a in allowed)
                        + ".",
                        "invalid_value",
                        param=param,
                    )
            with self._lock:
                fails_with = self._generation_error or next(
                    (e for m, e in self._prompt_errors.items() if m in prompt), None
                )
                job = RemoteJob(
                    id=f"video_fake{next(self._ids):04d}",
                    prompt=prompt,
                    model=values["model"][0],
                    seconds=values["seconds"][0],
                    size=values["size"][0],
                    fails_with=dict(fails_with) if fails_with else None,
                )
                self.jobs[job.id] = job
                return jsonify(self._object(job))

        @app.get("/v1/videos/<video_id>")
        def retrieve(video_id):
            with self._lock:
                job = self.jobs.get(video_id)
                if job is None:
                    return self._error(404, f"Video '{video_id}' not found.", "not_found")
                if job.status in ("queued", "in_progress"):
                    job.polls += 1
                    if job.polls >= self.polls_to_complete and job.fails_with:
                        job.status, job.error = "failed", dict(job.fails_with)
                    elif job.polls >= self.polls_to_complete:
                        job.status, job.progress = "completed", 100
                        job.completed_at = int(time.time())
                    else:
                        job.status = "in_progress"
                        job.progress = int(100 * job.polls / self.polls_to_complete)
                return jsonify(self._object(job))

        @app.get("/v1/videos/<video_id>/content")
        def content(video_id):
            variant = request.args.get("variant", "video")
            if variant not in VARIANTS:
                return self._error(
                    400, f"Invalid value: '{variant}'.", "invalid_value", param="variant"
                )
            with self._lock:
                job = self.jobs.get(video_id)
                if job is None:
                    return self._error(404, f"Video '{video_id}' not found.", "not_found")
                if job.status != "completed":
                    return self._error(404, "Video is not ready.", "not_ready")
            if variant == "thumbnail":
                if self.thumbnail_bytes is None:
                    return self._error(404, "No thumbnail for this video.", "not_found")
                return Response(self.thumbnail_bytes, mimetype="image/jpeg")
            return Response(self.video_bytes, mimetype="video/mp4")

        @app.post("/v1/videos/<video_id>/cancel")
        def cancel(video_id):
            if not self.cancel_supported:
                return self._error(404, f"Invalid URL (POST {request.path})", None)
            with self._lock:
                job = self.jobs.get(video_id)
                if job is None:
                    return self._error(404, f"Video '{video_id}' not found.", "not_found")
                if job.status in ("completed", "failed"):
                    return self._error(
                        409, f"Video '{video_id}' is already {job.status}.", "invalid_state"
                    )
                job.status = "cancelled"
                return jsonify(self._object(job))

        @app.delete("/v1/videos/<video_id>")
        def delete(video_id):
            with self._lock:
                if self.jobs.pop(video_id, None) is None:
                    return self._error(404, f"Video '{video_id}' not found.", "not_found")
            return jsonify({"id": video_id, "object": "video.deleted", "deleted": True})

        return app
