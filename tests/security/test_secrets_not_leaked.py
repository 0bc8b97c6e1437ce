"""Secrets never leak: the admin key, SECRET_KEY, the upstream provider's API key, client keys,
webhook signing secrets and the database password stay out of the logs (every logger at
DEBUG, in the text and the production JSON format, plus whatever reaches stderr), out of
every response (bodies and headers, errors included), and out of every value the broker and
the app keep in Redis.

Runs a realistic flow in-process on the services backend (PostgreSQL + real Redis, a real
Dramatiq worker): failed and successful logins, dashboard pages and actions, the admin API
and /metrics, the job API, a provider failure whose upstream echoes its API key, a 500 path,
and an app whose database (URL with a password) is unreachable.
"""

from __future__ import annotations

import io
import logging

import pytest
import redis
from flask import request_finished

from tests.conftest import REDIS_URL
from tests.fakes.openai_videos import FakeVideosServer
from tests.support.dashboard import csrf_from, login, page_token
from webapp.extensions import db

ADMIN = "admin-key-must-not-leak-" + "a1" * 16
SECRET = "secret-key-must-not-leak-" + "s2" * 16
OPENAI_KEY = "sk-upstream-must-not-leak-" + "o3" * 12
DB_PASSWORD = "s3cret-pw"
DOWN_DATABASE = f"postgresql+psycopg://postgres:{DB_PASSWORD}@127.0.0.1:1/test"


@pytest.fixture
def fake_openai():
    with FakeVideosServer(api_key=OPENAI_KEY) as fake:
        yield fake


@pytest.fixture
def app_overrides(fake_openai):
    return {
        "ADMIN_API_KEY": ADMIN,
        "SECRET_KEY": SECRET,
        "OPENAI_BASE_URL": fake_openai.url,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_POLL_INTERVAL": 0.01,
    }


class Captured:
    """Everything logged (text and JSON formats) and every response the app sent."""

    def __init__(self) -> None:
        self.text = io.StringIO()
        self.json = io.StringIO()
        self.stderr = io.StringIO()
        self.responses: list[tuple[str, int, str, str]] = []  # path, status, headers, body

    def logs(self) -> str:
        return self.text.getvalue() + self.json.getvalue() + self.stderr.getvalue()

    def record(self, sender, response, **_):
        from flask import request

        body = "" if response.direct_passthrough else response.get_data(as_text=True)
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.responses.append((request.path, response.status_code, headers, body))


@pytest.fixture
def captured(caplog, capfd):
    """Every logger on at DEBUG (alembic's fileConfig disabled the app's loggers when the
    test database was migrated), our handlers in both production formats, and the app's own
    stderr handler redirected into a buffer."""
    from pythonjsonlogger.json import JsonFormatter

    from webapp.logging_setup import ContextFilter

    record = Captured()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.disabled, logger.level) for logger in loggers]
    for logger in loggers:
        logger.disabled = False
    root.setLevel(logging.DEBUG)
    text = logging.StreamHandler(record.text)
    text.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    json_handler = logging.StreamHandler(record.json)
    json_handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    ours = [text, json_handler]
    for handler in ours:
        handler.setLevel(logging.DEBUG)
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
    streams = [
        (handler, handler.setStream(record.stderr))
        for handler in root.handlers
        if type(handler) is logging.StreamHandler and handler not in ours
    ]
    caplog.set_level(logging.DEBUG)
    try:
        yield record
    finally:
        for handler, stream in streams:
            handler.setStream(stream)
        for handler in ours:
            root.removeHandler(handler)
        for logger, disabled, level in saved:
            logger.disabled, logger.level = disabled, level
        out, err = capfd.readouterr()
        record.stderr.write(out + err)


def assert_absent(secrets: dict[str, str], where: str, text: str) -> None:
    for name, secret in secrets.items():
        assert secret not in text, f"{name} leaked into {where}"


def redis_values(url: str) -> str:
    """Every key and value in the test Redis database, as one searchable text."""
    client = redis.Redis.from_url(url)
    chunks: list[bytes] = []
    for key in client.scan_iter(count=1000):
        chunks.append(key)
        kind = client.type(key)
        if kind == b"string":
            chunks.append(client.get(key) or b"")
        elif kind == b"list":
            chunks += client.lrange(key, 0, -1)
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                chunks += [field, value]
        elif kind == b"set":
            chunks += list(client.smembers(key))
        elif kind == b"zset":
            chunks += client.zrange(key, 0, -1)
        elif kind == b"stream":
            for _, fields in client.xrange(key):
                for field, value in fields.items():
                    chunks += [field, value]
    return b"\n".join(chunks).decode("utf-8", "replace")


def test_a_realistic_flow_leaks_no_secret(
    app, client, auth, api_client, fake_openai, worker, settle, captured, caplog
):
    request_finished.connect(captured.record, app)
    try:
        secrets = run_flow(app, client, auth, api_client, fake_openai, settle)
    finally:
        request_finished.disconnect(captured.record, app)
    logs = captured.logs()
    assert "failed dashboard login" in logs, "the capture sees the app's loggers"
    assert_absent(secrets, "the logs", logs)
    assert_absent(secrets, "pytest's log capture", caplog.text)
    assert_absent(secrets, "the log records' arguments", repr([r.args for r in caplog.records]))
    for path, status, headers, body in captured.responses:
        shown_once = secrets["new client key"] in body and path == "/dashboard/clients"
        visible = {k: v for k, v in secrets.items() if not (shown_once and k == "new client key")}
        if path == "/v1/webhook_endpoints" and status == 201:
            visible.pop("webhook secret")  # returned once, at creation
        assert_absent(visible, f"the {status} response to {path}", headers + "\n" + body)
    assert len(captured.responses) > 30
    stored = redis_values(REDIS_URL)
    assert "dramatiq" in stored, "the broker's keys are there to search"
    assert_absent(secrets, "Redis", stored)


def run_flow(app, client, auth, api_client, fake, settle) -> dict[str, str]:
    # dashboard: two near misses (the real key with one character more or less), then in
    for i, key in enumerate((ADMIN + "x", ADMIN[:-1])):
        assert login(client, key=key, address=f"10.44.0.{i + 1}").status_code == 401
    assert login(client, key=ADMIN, address="10.44.0.9").status_code == 302
    token = page_token(client)
    created = client.post("/dashboard/clients", data={"csrf_token": token, "name": "mobile"})
    new_key = created.get_data(as_text=True).split('id="new-key">')[1].split("<")[0]
    assert new_key.startswith("rq_")

    # admin API and metrics, wrong key then right key
    wrong = {"Authorization": f"Bearer {ADMIN}x"}
    right = {"Authorization": f"Bearer {ADMIN}"}
    assert client.get("/api/admin/queue", headers=wrong).status_code == 401
    assert client.get(f"/api/admin/queue?key={ADMIN}").status_code == 401
    assert client.get("/api/admin/queue", headers=right).status_code == 200
    assert client.get("/metrics", headers=right).status_code == 200

    # the job API: a webhook endpoint, a good job, and provider failures that echo the key
    hook = client.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=auth
    ).get_json()
    good = client.post(
        "/v1/videos", json={"prompt": "fine", "seconds": "1", "size": "320x180"}, headers=auth
    ).get_json()["id"]
    fake.fail_next_submits(1, status=400, code="invalid_key", message=f"bad key {OPENAI_KEY}")
    rejected = client.post(
        "/v1/videos", json={"prompt": "rejected", "provider": "openai"}, headers=auth
    ).get_json()["id"]
    assert settle([good, rejected]) == {good: "completed", rejected: "failed"}
    fake.fail_generation("moderation_blocked", f"blocked; your key {OPENAI_KEY} is noted")
    blocked = client.post(
        "/v1/videos", json={"prompt": "blocked", "provider": "openai"}, headers=auth
    ).get_json()["id"]
    assert settle([blocked]) == {blocked: "failed"}
    for job_id in (rejected, blocked):
        video = client.get(f"/v1/videos/{job_id}", headers=auth).get_json()
        assert "[redacted]" in video["error"]["message"], "the upstream echoed its key"
        assert client.get(f"/dashboard/jobs/{job_id}").status_code == 200
        assert client.get(f"/dashboard/jobs/{job_id}/attempts").status_code == 200
        assert client.post(f"/api/admin/queue/retry/{job_id}", headers=right).status_code == 200
    settle([rejected, blocked])

    # error paths: a crash in a view (500 today), unknown routes, bad bodies, bad keys
    client.post("/v1/storyboards", json={"title": "t", "scenes": ["s"], "style": []}, headers=auth)
    client.get("/v1/nothing", headers=auth)
    client.post(
        "/v1/videos", data="{not json", headers={**auth, "Content-Type": "application/json"}
    )
    client.post("/v1/videos", data="x" * 2_000_000, headers=auth)
    client.get("/v1/videos", headers={"Authorization": f"Bearer {ADMIN}"})
    client.get("/dashboard/jobs?status=bogus")
    client.get("/dashboard/jobs/video_nope")
    for path in ("/dashboard/", "/dashboard/failed", "/dashboard/audit", "/dashboard/webhooks"):
        assert client.get(path).status_code == 200
    client.post("/dashboard/logout", data={"csrf_token": token})
    with app.app_context():
        from webapp.webhooks.models import WebhookEndpoint

        webhook_secret = db.session.get(WebhookEndpoint, hook["id"]).secret
    return {
        "admin key": ADMIN,
        "SECRET_KEY": SECRET,
        "provider API key": OPENAI_KEY,
        "client key": api_client.key,
        "new client key": new_key,
        "webhook secret": webhook_secret,
        "database password": DB_PASSWORD,
    }


def test_an_unreachable_database_url_with_a_password_is_not_echoed(tmp_path, captured):
    from webapp import create_app
    from webapp.config import TestConfig
    from worker.broker import app_context_middleware

    middleware = app_context_middleware()
    previous = middleware.app
    down = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=DOWN_DATABASE,
        MEDIA_ROOT=str(tmp_path / "media"),
        REDIS_URL=REDIS_URL,
        ADMIN_API_KEY=ADMIN,
        SECRET_KEY=SECRET,
    )
    request_finished.connect(captured.record, down)
    client = down.test_client()
    bearer = {"Authorization": f"Bearer {ADMIN}"}
    try:
        statuses = {
            "healthz": client.get("/healthz").status_code,
            "list": client.get("/v1/videos", headers={"Authorization": "Bearer rq_x"}).status_code,
            "create": client.post(
                "/v1/videos", json={"prompt": "x"}, headers={"Authorization": "Bearer rq_x"}
            ).status_code,
            "admin": client.get("/api/admin/queue", headers=bearer).status_code,
            "metrics": client.get("/metrics", headers=bearer).status_code,
        }
        page = client.get("/dashboard/login").get_data(as_text=True)
        statuses["login"] = client.post(
            "/dashboard/login",
            data={"admin_key": ADMIN, "csrf_token": csrf_from(page)},
            environ_base={"REMOTE_ADDR": "10.44.1.1"},
        ).status_code
    finally:
        request_finished.disconnect(captured.record, down)
        with down.app_context():
            db.engine.dispose()
        middleware.app = previous  # create_app bound the broker to the broken app
    assert all(status == 503 for status in statuses.values()), statuses
    for path, status, headers, body in captured.responses:
        assert DB_PASSWORD not in headers + body, (path, status)
        assert "127.0.0.1:1" not in body and "postgres:" not in body, (path, body)
    assert "database unavailable" in captured.logs() or "OperationalError" in captured.logs()
    assert DB_PASSWORD not in captured.logs()


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("SQLALCHEMY_DATABASE_URI", f"mysql://app:{DB_PASSWORD}@db.internal/prod"),
        ("SQLALCHEMY_DATABASE_URI", f"postgres-typo://app:{DB_PASSWORD}@db.internal/prod"),
        ("REDIS_URL", f"http://:{DB_PASSWORD}@cache.internal:6379/0"),
    ],
    ids=["database-mysql", "database-typo", "redis-scheme"],
)
def test_a_rejected_url_is_named_without_its_password(tmp_path, setting, url):
    """Config errors are printed at start-up (and land in the platform's logs)."""
    from webapp import create_app
    from webapp.config import ConfigError, TestConfig

    with pytest.raises(ConfigError) as error:
        create_app(TestConfig, MEDIA_ROOT=str(tmp_path), **{setting: url})
    message = str(error.value)
    assert "URL" in message
    assert DB_PASSWORD not in message, message
