"""The migrations and the models agree, and 0003 counts the jobs that exist when it runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from tests.conftest import BACKEND, PG_URL
from tests.support import services
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db


def test_models_match_the_migrations(app, runner):
    """``flask db check``: autogenerate finds nothing to add or drop on this database."""
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


@contextmanager
def scratch_database(tmp_path) -> Iterator[str]:
    """An empty database of this run's kind, dropped afterwards."""
    if BACKEND != "services":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    import psycopg

    name = f"rq_migrations_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.replace("+psycopg", "").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


JOB = (
    "INSERT INTO video_jobs (id, prompt, provider, model, seconds, size, status, progress,"
    " attempts, max_attempts, error_signature, client_metadata, metadata, created_at, updated_at)"
    " VALUES (:id, 'p', 'local', 'sora-2', '4', '720x1280', :status, 0, 0, 3, :signature,"
    " '{}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


def test_0003_counts_existing_jobs_and_downgrades_cleanly(tmp_path):
    with scratch_database(tmp_path) as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade(revision="0002_admin_sessions")
            for i, (status, signature) in enumerate(
                [("queued", None), ("failed", "sig-a"), ("failed", "sig-a"), ("failed", "sig-b")]
                + [("completed", None)] * 3
            ):
                db.session.execute(
                    text(JOB), {"id": f"video_{i}", "status": status, "signature": signature}
                )
            db.session.commit()

            upgrade()
            assert services.count_drift(db) == []
            from webapp.jobs import counts

            assert counts.count_by_status()["completed"] == 3
            assert db.session.execute(counts.failed_by_signature(10)).all() == [
                ("sig-a", 2),
                ("sig-b", 1),
            ]
            db.session.remove()

            downgrade(revision="0002_admin_sessions")
            tables = db.inspect(db.engine).get_table_names()
            assert "job_status_counts" not in tables
            db.session.execute(text("UPDATE video_jobs SET status = 'cancelled'"))  # no trigger
            db.session.commit()

            upgrade()
            assert counts.count_by_status()["cancelled"] == 7
            assert services.count_drift(db) == []
            db.session.remove()
            db.engine.dispose()
