"""Shared fixtures.

The backend is chosen per pytest run, before any app or worker module is imported (the
Dramatiq broker is built once per process, and actors bind to it at import):

- ``REELQUEUE_TEST_BACKEND=embedded`` (default): SQLite file + the embedded StubBroker;
- ``REELQUEUE_TEST_BACKEND=services``: real PostgreSQL (``TEST_DATABASE_URL``, default database
  ``test`` on 127.0.0.1:5432) and real Redis (``TEST_REDIS_URL``, default db 15 on
  127.0.0.1:6379). ``make test`` runs the API and worker suites once per backend.

Tests marked ``integration`` need the services backend and are skipped in the embedded run;
under ``CI=true`` an unreachable service is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

BACKEND = os.environ.get("REELQUEUE_TEST_BACKEND", "embedded")
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

os.environ.pop("DATABASE_URL", None)
os.environ.pop("ADMIN_API_KEY", None)
if BACKEND == "services":
    os.environ["REDIS_URL"] = REDIS_URL
else:
    os.environ.pop("REDIS_URL", None)

from tests.support import services  # noqa: E402

if BACKEND == "services":
    services.require_services(PG_URL, REDIS_URL, in_ci=IN_CI)

import dramatiq  # noqa: E402
from sqlalchemy import text  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.config import TestConfig  # noqa: E402
from webapp.extensions import db  # noqa: E402
from worker import actors  # noqa: E402, F401
from worker.broker import broker as module_broker  # noqa: E402

SUITE_MARKERS = {"unit", "api", "worker", "integration", "browser", "faults", "security"}


def pytest_collection_modifyitems(config, items):
    """Mark each test by its folder (tests/api -> ``api``), and skip ``integration`` tests
    in the embedded run (``make test`` runs them in the services run)."""
    skip = pytest.mark.skip(reason="needs REELQUEUE_TEST_BACKEND=services (run by make test)")
    for item in items:
        folder = Path(item.fspath).relative_to(Path(__file__).parent).parts[0]
        if folder in SUITE_MARKERS:
            item.add_marker(getattr(pytest.mark, folder))
        if folder in ("faults", "security"):
            item.add_marker(pytest.mark.integration)
        if BACKEND != "services" and "integration" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true nothing may skip: a skipped test fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> str:
    """A migrated database: a SQLite file to copy per test, or the PostgreSQL URL."""
    if BACKEND == "services":
        services.migrate_fresh(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    services.migrate_sqlite(path)
    return str(path)


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    if BACKEND == "services":
        return database_template
    target = tmp_path / "test.sqlite3"
    shutil.copyfile(database_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module to change settings for its ``app``."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_overrides):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        MEDIA_ROOT=str(tmp_path / "media"),
        REDIS_URL=os.environ.get("REDIS_URL"),
        **app_overrides,
    )
    with app.app_context():
        if BACKEND == "services":
            services.truncate_all(db)
    yield app
    with app.app_context():
        db.session.remove()
        # Whatever the test did, the trigger-kept counts still match the jobs table.
        assert services.count_drift(db) == [], "job_status_counts drifted from video_jobs"
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def broker():
    module_broker.flush_all()
    yield module_broker
    module_broker.flush_all()


@pytest.fixture
def worker(broker, app):
    """A real Dramatiq worker (threads) consuming this process's broker."""
    w = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    w.start()
    yield w
    w.stop(timeout=10_000)


@pytest.fixture
def api_client(app):
    """A fresh API client; ``.key`` is its bearer key."""
    from webapp.clients import service

    with app.app_context():
        new = service.create_client("test client")
        return services.ClientKey(id=new.client.id, key=new.key)


@pytest.fixture
def auth(api_client) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_client.key}"}


@pytest.fixture
def other_auth(app) -> dict[str, str]:
    from webapp.clients import service

    with app.app_context():
        new = service.create_client("other client")
    return {"Authorization": f"Bearer {new.key}"}


def wait_for_status(
    app,
    job_ids: Iterable[str],
    statuses: Iterable[str] = ("completed", "failed", "cancelled"),
    *,
    timeout: float = 60.0,
) -> dict[str, str]:
    """Poll the database until every job is in one of ``statuses``; return id -> status."""
    from webapp.jobs.models import VideoJob

    wanted, ids = set(statuses), list(job_ids)
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            rows = dict(
                db.session.execute(
                    db.select(VideoJob.id, VideoJob.status).where(VideoJob.id.in_(ids))
                ).all()
            )
        if len(rows) == len(ids) and all(s in wanted for s in rows.values()):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs did not reach {sorted(wanted)} in {timeout}s: {rows}")
        time.sleep(0.05)


@pytest.fixture
def settle(app):
    def _settle(job_ids, statuses=("completed", "failed", "cancelled"), timeout=60.0):
        return wait_for_status(app, job_ids, statuses, timeout=timeout)

    return _settle


def media_files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file() and ".work" not in p.parts)


_ = text  # re-exported for tests that run raw SQL
