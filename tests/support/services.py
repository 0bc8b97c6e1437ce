"""Reaching the real PostgreSQL and Redis used by integration tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class ClientKey:
    id: int
    key: str


def require_services(pg_url: str, redis_url: str, *, in_ci: bool) -> None:
    """Fail (in CI) or skip the whole run when PostgreSQL or Redis does not answer."""
    import psycopg
    import redis

    problems = []
    try:
        psycopg.connect(pg_url.replace("+psycopg", ""), connect_timeout=3).close()
    except psycopg.Error as exc:
        problems.append(f"PostgreSQL at {pg_url}: {exc}")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        problems.append(f"Redis at {redis_url}: {exc}")
    if not problems:
        redis.Redis.from_url(redis_url).flushdb()
        return
    message = "services unavailable: " + "; ".join(problems)
    if in_ci:
        raise RuntimeError(message + " (CI=true: integration tests may not skip)")
    pytest.exit(message + " -- start them or run the embedded suite only", returncode=0)


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        from webapp.extensions import db

        db.engine.dispose()


def migrate_sqlite(path: Path) -> None:
    _upgrade(f"sqlite:///{path}")


def migrate_fresh(pg_url: str) -> None:
    """Drop everything in the test database and migrate it from scratch."""
    import psycopg

    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    _upgrade(pg_url)


# Rows where the trigger-kept job counts differ from a count of video_jobs, read in one
# statement (one snapshot on both databases); empty when they agree.
COUNT_DRIFT_SQL = """
SELECT status, provider, signature, sum(n) FROM (
  SELECT status, provider, CASE WHEN status = 'failed' THEN error_signature END AS signature,
    1 AS n
  FROM video_jobs
  UNION ALL
  SELECT status, provider, error_signature, -delta FROM job_status_counts
) AS both_sides GROUP BY status, provider, signature HAVING sum(n) <> 0
"""


def count_drift(db) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(db.text(COUNT_DRIFT_SQL))]


def truncate_all(db) -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    db.session.execute(db.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    db.session.commit()
