"""The api_create baseline: the least a create endpoint can do, served the same way.

``gunicorn -c gunicorn.conf.py bench.bare_app:app`` (same settings as the real app): one Flask
route that parses the JSON body, inserts one row into ``video_jobs`` with SQLAlchemy (same
table, same indexes, same engine options and SQLite pragmas as the app) and sends one Dramatiq
message to Redis. No auth, no validation, no idempotency, no dispatch stamp, no serializer.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from flask import Flask, jsonify, request
from sqlalchemy import create_engine, event, text

BARE_QUEUE = "bare_videos"


def _database_url() -> str:
    url = os.environ["DATABASE_URL"]
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


engine = create_engine(_database_url(), pool_pre_ping=True)
if engine.dialect.name == "sqlite":

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # the app's pragmas (webapp/database.py)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


broker = RedisBroker(url=os.environ["REDIS_URL"])
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=BARE_QUEUE, max_retries=0)
def bare_generate(job_id: str) -> None:
    """Never consumed in the benchmark: messages just queue."""


INSERT = text(
    "INSERT INTO video_jobs (id, prompt, provider, model, seconds, size, status, progress,"
    " attempts, max_attempts, metadata, client_metadata, created_at, updated_at)"
    " VALUES (:id, :prompt, 'local', 'sora-2', 4, '1280x720', 'queued', 0, 0, 3,"
    " '{}', '{}', :now, :now)"
)

app = Flask(__name__)


def _id() -> str:
    return f"video_bare{int(time.time() * 1000):013d}{secrets.token_hex(6)}"


@app.post("/v1/videos")
def create():
    body = request.get_json(force=True)
    job_id = _id()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(INSERT, {"id": job_id, "prompt": body.get("prompt", ""), "now": now})
    bare_generate.send(job_id)
    return jsonify({"id": job_id, "object": "video", "status": "queued"}), 201


@app.get("/healthz")
def healthz():
    return {"ok": True}
