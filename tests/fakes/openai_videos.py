"""A local fake of an OpenAI-compatible videos endpoint, scriptable per test.

Real HTTP on 127.0.0.1 (werkzeug in a thread). Script it with ``fail_next_submits``,
``fail_next``, ``fail_generation``, ``polls_to_complete``; inspect ``requests``.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server


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
    created_at: int = field(default_factory=lambda: int(time.time()))


class FakeVideosServer:
    def __init__(
        self,
        *,
        api_key: str | None = "sk-fake",
        video_bytes: bytes = b"\x00fake-mp4",
        thumbnail_bytes: bytes = b"\xff\xd8\xff fake-jpeg",
    ) -> None:
        self.api_key = api_key
        self.video_bytes = video_bytes
        self.thumbnail_bytes = thumbnail_bytes
        self.polls_to_complete = 1
        self.jobs: dict[str, RemoteJob] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self._failures: list[tuple[str | None, int, float | None]] = []
        self._generation_error: dict | None = None
        self._prompt_errors: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._build_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- scripting ---------------------------------------------------------------------------
    def fail_next_submits(
        self, count: int, *, status: int = 429, retry_after: float | None = 0
    ) -> None:
        """The next ``count`` POST /videos answer ``status``."""
        self._failures += [("submit", status, retry_after)] * count

    def fail_next(self, count: int, *, status: int = 500) -> None:
        """The next ``count`` requests of any kind answer ``status``."""
        self._failures += [(None, status, None)] * count

    def fail_generation(self, code: str, message: str) -> None:
        """Jobs submitted from now on end ``failed`` with this error."""
        self._generation_error = {"code": code, "message": message}

    def fail_prompts_containing(self, marker: str, code: str, message: str) -> None:
        """Jobs whose prompt contains ``marker`` end ``failed`` with this error."""
        self._prompt_errors[marker] = {"code": code, "message": message}

    def clear_failures(self) -> None:
        self._prompt_errors.clear()
        self._generation_error = None

    def submits(self) -> int:
        return sum(
            1 for method, path, _ in self.requests if method == "POST" and path == "/v1/videos"
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeVideosServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeVideosServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the endpoint ------------------------------------------------------------------------
    def _error(self, status: int, message: str, code: str, retry_after: float | None = None):
        response = jsonify(
            {"error": {"message": message, "type": "error", "code": code, "param": None}}
        )
        response.status_code = status
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def _object(self, job: RemoteJob) -> dict:
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
            "error": job.error,
        }

    def _build_app(self) -> Flask:
        app = Flask("fake-openai-videos")

        @app.before_request
        def record_and_gate():
            body = request.form.to_dict() if request.form else (request.get_json(silent=True) or {})
            with self._lock:
                self.requests.append((request.method, request.path, body))
                if self.api_key and request.headers.get("Authorization") != (
                    f"Bearer {self.api_key}"
                ):
                    return self._error(401, "Incorrect API key provided.", "invalid_api_key")
                if self._failures:
                    kind, status, retry_after = self._failures[0]
                    is_submit = request.method == "POST" and request.path == "/v1/videos"
                    if kind is None or (kind == "submit" and is_submit):
                        self._failures.pop(0)
                        return self._error(
                            status, f"scripted {status}", f"http_{status}", retry_after
                        )
            return None

        @app.post("/v1/videos")
        def create():
            data = request.form if request.form else (request.get_json(silent=True) or {})
            job = RemoteJob(
                id=f"video_fake{next(self._ids):04d}",
                prompt=data.get("prompt", ""),
                model=data.get("model", "sora-2"),
                seconds=str(data.get("seconds", "4")),
                size=data.get("size", "1280x720"),
            )
            self.jobs[job.id] = job
            return jsonify(self._object(job))

        @app.get("/v1/videos/<video_id>")
        def retrieve(video_id):
            job = self.jobs.get(video_id)
            if job is None:
                return self._error(404, "No such video.", "not_found")
            if job.status in ("queued", "in_progress"):
                job.polls += 1
                error = self._generation_error or next(
                    (e for m, e in self._prompt_errors.items() if m in job.prompt), None
                )
                if error and job.polls >= self.polls_to_complete:
                    job.status, job.error = "failed", dict(error)
                elif job.polls >= self.polls_to_complete:
                    job.status, job.progress = "completed", 100
                else:
                    job.status = "in_progress"
                    job.progress = int(100 * job.polls / self.polls_to_complete)
            return jsonify(self._object(job))

        @app.get("/v1/videos/<video_id>/content")
        def content(video_id):
            job = self.jobs.get(video_id)
            if job is None or job.status != "completed":
                return self._error(404, "Video is not ready.", "not_ready")
            if request.args.get("variant", "video") == "thumbnail":
                return Response(self.thumbnail_bytes, mimetype="image/jpeg")
            return Response(self.video_bytes, mimetype="video/mp4")

        @app.post("/v1/videos/<video_id>/cancel")
        def cancel(video_id):
            job = self.jobs.get(video_id)
            if job is None:
                return self._error(404, "No such video.", "not_found")
            job.status = "cancelled"
            return jsonify(self._object(job))

        @app.delete("/v1/videos/<video_id>")
        def delete(video_id):
            if self.jobs.pop(video_id, None) is None:
                return self._error(404, "No such video.", "not_found")
            return jsonify({"id": video_id, "object": "video.deleted", "deleted": True})

        return app
