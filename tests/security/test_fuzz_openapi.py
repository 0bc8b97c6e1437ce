"""Schemathesis against ``GET /v1/openapi.json``, with the Flask app in-process (WSGI).

One test per operation; each sends at least :data:`EXAMPLES` generated requests (positive
and negative data mixed, authenticated with a real client key). For the operations on one
object, half of the cases target real objects of that client (queued, running, completed
with files, failed, cancelled; a compiled storyboard), so the 2xx response schemas are
checked too, not only the 404s. Every case runs these checks:

- ``not_a_server_error``: no 5xx at all;
- ``status_code_conformance``: the status is documented for the operation;
- ``content_type_conformance``: the Content-Type is documented;
- ``response_schema_conformance``: the body matches the documented schema.

Failures are collected (not raised at the first one), deduplicated, and reported together
with a curl command that reproduces each.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from webapp.api.openapi import bp as openapi_bp
from webapp.api.openapi import build_document
from webapp.extensions import db
from webapp.jobs.models import JobAttempt, VideoJob
from webapp.storyboards.models import Storyboard
from webapp.timeutil import utcnow
from worker.storage import get_storage

EXAMPLES = 500
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in build_document()["paths"].items()
    for method in item
    if method != "parameters"
)


class ServerErrors(logging.Handler):
    """Keeps the exception behind each logged 500 (``webapp.errors`` logs it)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            self.last = f"{type(exc).__name__} at {frame.filename}:{frame.lineno}: {exc}"[:300]


PATH_IDS = {"video_id": "videos", "storyboard_id": "storyboards", "endpoint_id": "endpoints"}


@pytest.fixture
def fuzz_app(app):
    """The test app with the OpenAPI blueprint (until ``register_blueprints`` adds it)."""
    if "openapi" not in app.blueprints:
        app.register_blueprint(openapi_bp)
    return app


def make_pool(app, client, auth) -> dict[str, list[str]]:
    """Real objects of the fuzzing client, in every state the API can show (files included,
    and files that went missing)."""
    create = {"prompt": "a paper boat", "seconds": "1", "size": "320x180"}
    videos = [client.post("/v1/videos", json=create, headers=auth).get_json()["id"]]
    videos += [
        client.post(
            "/v1/videos", json={**create, "metadata": {"n": str(i)}}, headers=auth
        ).get_json()["id"]
        for i in range(11)
    ]
    board = client.post(
        "/v1/storyboards",
        json={"title": "pool", "scenes": ["one", {"prompt": "two", "seconds": 2}], "style": "noir"},
        headers=auth,
    ).get_json()
    compiled = client.post(
        "/v1/storyboards", json={"title": "film", "scenes": ["a"]}, headers=auth
    ).get_json()
    gone = client.post(
        "/v1/storyboards", json={"title": "film gone", "scenes": ["b"]}, headers=auth
    ).get_json()
    endpoints = [
        client.post(
            "/v1/webhook_endpoints", json={"url": f"http://127.0.0.1:9/hook{i}"}, headers=auth
        ).get_json()["id"]
        for i in range(6)
    ]
    with app.app_context():
        storage = get_storage()
        now = utcnow()
        states = ["completed", "completed", "failed", "cancelled", "in_progress"]
        for job_id, status in zip(videos[1:], states, strict=False):
            job = db.session.get(VideoJob, job_id)
            job.status, job.attempts = status, 1
            if status == "completed":
                job.progress, job.started_at, job.completed_at = 100, now, now
                job.expires_at = now
                for variant, data in (
                    ("video", b"\x00\x00\x00\x18ftypmp42"),
                    ("thumbnail", b"\xff\xd8\xff"),
                ):
                    path = storage.path(job_id, variant)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    setattr(job, f"{variant}_path", str(path.relative_to(storage.root)))
            elif status == "failed":
                job.error_code, job.error_message = "provider_error", "upstream said no"
                job.completed_at = now
                db.session.add(
                    JobAttempt(
                        job_id=job_id,
                        attempt=1,
                        name="ProviderError",
                        message="upstream said no",
                        code="provider_error",
                        provider="local",
                        stack="Traceback (most recent call last):",
                    )
                )
            elif status == "in_progress":
                job.progress, job.started_at = 40, now
        film = db.session.get(Storyboard, compiled["id"])
        for scene in compiled["scenes"]:
            db.session.get(VideoJob, scene["id"]).status = "completed"
        target = storage.root / "storyboards" / film.id / "film.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\x00\x00\x00\x18ftypmp42")
        film.compile_status, film.compiled_path = "completed", f"storyboards/{film.id}/film.mp4"
        film.completed_at = now
        # compiled once, but the file is gone (deleted, lost disk, another MEDIA_ROOT)
        lost = db.session.get(Storyboard, gone["id"])
        lost.compile_status, lost.compiled_path = "completed", f"storyboards/{lost.id}/film.mp4"
        # and a completed video whose files are gone
        missing = db.session.get(VideoJob, videos[6])
        missing.status, missing.progress, missing.completed_at = "completed", 100, now
        missing.video_path = missing.thumbnail_path = f"jobs/{missing.id}/video.mp4"
        db.session.commit()
    return {
        "videos": videos,
        "storyboards": [board["id"], compiled["id"], gone["id"]],
        "endpoints": endpoints,
    }


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_document(fuzz_app, client, auth, broker, method, path):
    app = fuzz_app
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    operation = schema[path][method]
    pool = make_pool(app, client, auth)
    path_param = next((name for name in PATH_IDS if "{" + name + "}" in path), None)
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    failures: dict[tuple, str] = {}
    statuses: Counter[int] = Counter()
    calls = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, pick=st.integers(min_value=0, max_value=23))
    def run(case, pick):
        nonlocal calls
        if path_param:
            ids = pool[PATH_IDS[path_param]]
            if pick < 12:
                case.path_parameters[path_param] = ids[pick % len(ids)]
        errors.last = None
        response = case.call(headers=auth)
        calls += 1
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except FailureGroup as group:
            cause = None
            if response.status_code >= 500:
                cause = errors.last or f"body {response.content[:200]!r}"
            for failure in group.exceptions:
                if failure.title == "Undocumented status code" and cause:
                    continue  # the 5xx itself is reported once, with its cause
                key = (failure.title, cause or failure.message[:80], response.status_code)
                if key not in failures:
                    failures[key] = (
                        f"{failure.title} ({response.status_code}): {cause or failure.message}\n"
                        f"    {case.as_curl_command(headers=auth)}"
                    )

    errors = ServerErrors()
    logger = logging.getLogger("webapp.errors")
    # alembic's fileConfig (run by the migration fixture) disables loggers created earlier
    was_disabled, logger.disabled = logger.disabled, False
    logger.addHandler(errors)
    started = time.monotonic()
    try:
        run()
    finally:
        logger.removeHandler(errors)
        logger.disabled = was_disabled
    elapsed = time.monotonic() - started
    print(f"\n{method} {path}: {calls} cases in {elapsed:.1f}s, statuses {dict(statuses)}")
    assert not failures, f"{len(failures)} distinct failure(s):\n" + "\n".join(failures.values())
    assert calls >= EXAMPLES, f"only {calls} cases were generated"


def test_the_document_is_public_and_names_every_operation(fuzz_app, client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert operations == set(OPERATIONS)
    api_rules = {
        (method, rule.rule.replace("<", "{").replace(">", "}"))
        for rule in fuzz_app.url_map.iter_rules()
        if rule.rule.startswith("/v1/") and rule.endpoint != "openapi.openapi_document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert api_rules == operations, "every /v1 route is documented, and nothing else"


MULTIPART_WITHOUT_NAME = (
    b"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n"
    b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhello\r\n--b--\r\n'
)
DEEP_JSON = b"[" * 100_000


FORM = {"Content-Type": "multipart/form-data; boundary=b"}
AS_JSON = {"Content-Type": "application/json"}
# Inputs the fuzzer found (and their neighbours), pinned so they stay fixed.
PINNED = [
    pytest.param("GET", "/v1/videos?after=video_%00", None, {}, id="nul-after"),
    pytest.param("GET", "/v1/videos?storyboard_id=storyboard_%00", None, {}, id="nul-filter"),
    pytest.param("GET", "/v1/storyboards?after=storyboard_%00", None, {}, id="nul-board-after"),
    pytest.param("GET", "/v1/videos/video_%00", None, {}, id="nul-get-video"),
    pytest.param("DELETE", "/v1/videos/video_%00", None, {}, id="nul-delete-video"),
    pytest.param("POST", "/v1/videos/video_%00/cancel", None, {}, id="nul-cancel-video"),
    pytest.param("GET", "/v1/videos/video_%00/content", None, {}, id="nul-video-content"),
    pytest.param("GET", "/v1/storyboards/storyboard_%00", None, {}, id="nul-get-board"),
    pytest.param("POST", "/v1/storyboards/storyboard_%00/cancel", None, {}, id="nul-cancel-board"),
    pytest.param("GET", "/v1/storyboards/storyboard_%00/content", None, {}, id="nul-board-film"),
    pytest.param("DELETE", "/v1/webhook_endpoints/we_%00", None, {}, id="nul-delete-endpoint"),
    pytest.param(
        "POST",
        "/v1/storyboards",
        b'{"title":"t","scenes":["a"],"style":[]}',
        AS_JSON,
        id="style-list",
    ),
    pytest.param(
        "POST",
        "/v1/storyboards",
        b'{"title":"t","scenes":["a"],"style":{}}',
        AS_JSON,
        id="style-object",
    ),
    pytest.param("POST", "/v1/videos", DEEP_JSON, AS_JSON, id="deep-json-video"),
    pytest.param(
        "POST",
        "/v1/videos",
        DEEP_JSON,
        {**AS_JSON, "Idempotency-Key": "deep"},
        id="deep-json-idempotent",
    ),
    pytest.param("POST", "/v1/storyboards", DEEP_JSON, AS_JSON, id="deep-json-board"),
    pytest.param("POST", "/v1/webhook_endpoints", DEEP_JSON, AS_JSON, id="deep-json-webhook"),
    pytest.param("POST", "/v1/videos", MULTIPART_WITHOUT_NAME, FORM, id="unnamed-part-video"),
    pytest.param(
        "POST",
        "/v1/videos",
        MULTIPART_WITHOUT_NAME,
        {**FORM, "Idempotency-Key": "unnamed"},
        id="unnamed-part-idempotent",
    ),
    pytest.param("POST", "/v1/storyboards", MULTIPART_WITHOUT_NAME, FORM, id="unnamed-part-board"),
    pytest.param(
        "POST", "/v1/webhook_endpoints", MULTIPART_WITHOUT_NAME, FORM, id="unnamed-part-webhook"
    ),
]


@pytest.mark.parametrize(("method", "url", "body", "headers"), PINNED)
def test_pinned_inputs_get_a_documented_4xx(fuzz_app, client, auth, method, url, body, headers):
    response = client.open(url, method=method, data=body, headers={**auth, **headers})
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:200])
    error = response.get_json()["error"]
    assert set(error) == {"type", "code", "message", "param", "request_id"}
