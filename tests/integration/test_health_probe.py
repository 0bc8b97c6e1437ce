"""``python -m worker.health`` against a real Dramatiq worker, Redis and PostgreSQL.

Every process runs in its own session (process group) and is killed in a finalizer, even when
a test fails. The helpers and fixtures here are also used by ``test_procfile_honcho.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
from worker.heartbeat import STALE_AFTER_INTERVALS  # noqa: E402

REDIS_DB_URL = HEALTH_REDIS_URL = "redis://127.0.0.1:6379/14"
HEARTBEAT = 0.5
STALE_AFTER = STALE_AFTER_INTERVALS * HEARTBEAT
ADMIN_KEY = "health-test-admin-key-" + "k" * 32
MARKER_VAR = "REELQUEUE_TEST_MARKER"
# Settings a developer's shell may export; the child processes get only ours.
APP_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "PORT",
    "HEALTH_PORT",
    "HOST",
    "SECRET_KEY",
    "ADMIN_API_KEY",
    "MEDIA_ROOT",
    "REELQUEUE_ENV",
    "REELQUEUE_INSTANCE_DIR",
    "DEFAULT_PROVIDER",
    "RUN_MAINTENANCE",
    "WEB_CONCURRENCY",
    "WORKER_PROCESSES",
    "WORKER_THREADS",
    "WORKER_SHUTDOWN_TIMEOUT",
    "WORKER_HEARTBEAT_INTERVAL",
    "RECONCILE_INTERVAL",
)

T = TypeVar("T")


# --- helpers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T:
    """Call ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError as exc:  # connection refused while a server starts
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout}s (last: {last!r})")


def get_json(url: str, timeout: float = 5.0) -> tuple[int, dict]:
    """GET ``url``; (status, JSON body) for 2xx and HTTP errors alike."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def request_json(
    method: str, url: str, *, body: dict | None = None, key: str | None = None
) -> tuple[int, dict]:
    """A JSON API call with an optional bearer key."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def marked_pids(marker: str) -> list[int]:
    """Processes (any depth, any session) whose environment carries ``marker``."""
    needle = f"{MARKER_VAR}={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


class Processes:
    """Children started in their own sessions, logging to files, killed on :meth:`cleanup`.

    Each child's environment carries a marker, so descendants that moved to other sessions
    (honcho's) are found and killed too.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.marker = uuid.uuid4().hex
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**env, MARKER_VAR: self.marker},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)[-4000:]}" for name in self.started)

    def cleanup(self) -> None:
        """SIGKILL every group we started, then any marked straggler (and its group)."""
        for proc in self.started.values():
            kill_group(proc.pid)
        own_group = os.getpgid(0)
        for pid in marked_pids(self.marker):
            with contextlib.suppress(ProcessLookupError):
                group = os.getpgid(pid)
                if group != own_group:
                    os.killpg(group, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
        for proc in self.started.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def base_env(**settings: str) -> dict[str, str]:
    """This environment without the app's settings, the venv first on PATH, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in APP_VARS}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def run_health_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "worker.health", "--check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def pg_database(tmp_path) -> Iterator[str]:
    """A new PostgreSQL database migrated by the release command, dropped afterwards."""
    name = f"rq_health_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        env = base_env(
            DATABASE_URL=url,
            SECRET_KEY="health-test-secret-" + "s" * 32,
            ADMIN_API_KEY=ADMIN_KEY,
            REELQUEUE_INSTANCE_DIR=str(tmp_path / "instance"),
        )
        migrated = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def service_env(tmp_path, redis_db_url, pg_database) -> dict[str, str]:
    """Environment for the web, worker and health processes (fast heartbeat, tmp media)."""
    return base_env(
        REDIS_URL=redis_db_url,
        DATABASE_URL=pg_database,
        SECRET_KEY="health-test-secret-" + "s" * 32,
        ADMIN_API_KEY=ADMIN_KEY,
        MEDIA_ROOT=str(tmp_path / "media"),
        REELQUEUE_INSTANCE_DIR=str(tmp_path / "instance"),
        WORKER_HEARTBEAT_INTERVAL=str(HEARTBEAT),
        RECONCILE_INTERVAL="1",
        HOST="127.0.0.1",
    )


@pytest.fixture
def processes(tmp_path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.cleanup()


# --- tests ---------------------------------------------------------------------------------


def test_health_follows_a_real_worker(service_env, processes):
    # Given a health process (HEALTH_PORT, no PORT) and no worker yet
    port = free_port()
    env = {**service_env, "HEALTH_PORT": str(port)}
    url = f"http://127.0.0.1:{port}/healthz"
    processes.start("health", [PYTHON, "-m", "worker.health"], env)
    status, body = wait_for(lambda: get_json(url), timeout=15)
    assert status == 503, body
    assert body["reason"] == f"no worker heartbeat in the last {STALE_AFTER:g}s"
    assert body["checks"]["redis"] == "ok" and body["checks"]["database"] == "ok"

    # When a real worker starts, the probe turns healthy
    worker = processes.start(
        "worker",
        [str(VENV_BIN / "dramatiq"), "worker", "--processes", "1", "--threads", "2"],
        env,
    )
    try:
        status, body = wait_for(
            lambda: (answer := get_json(url))[0] == 200 and answer, timeout=30, interval=0.2
        )
    except AssertionError:
        pytest.fail("health never turned 200:\n" + processes.logs())
    assert body["status"] == "ok" and "reason" not in body
    assert body["checks"]["workers"]["alive"] >= 1
    assert body["checks"]["workers"]["threads"] >= 2
    check = run_health_check(env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("ok: ")

    # When the worker's whole process group is SIGKILLed (no chance to deregister)
    kill_group(worker.pid)
    killed_at = time.monotonic()
    worker.wait(timeout=10)

    # Then within 2 heartbeat intervals of the kill (the last beat was before it) the probe
    # names the heartbeat; 0.3 s covers polling and the probe's own checks
    limit = 2 * HEARTBEAT + 0.3
    status, body = wait_for(
        lambda: (answer := get_json(url))[0] == 503 and answer, timeout=limit, interval=0.05
    )
    assert time.monotonic() - killed_at <= limit
    assert "heartbeat" in body["reason"], body
    assert body["checks"]["workers"]["alive"] == 0
    check = run_health_check(env)
    assert check.returncode == 1
    assert check.stdout.strip() == f"unhealthy: no worker heartbeat in the last {STALE_AFTER:g}s"


def test_redis_on_a_closed_port_is_named(service_env, processes):
    # Given Redis configured on a port nobody listens on, and PORT set next to HEALTH_PORT
    port, other = free_port(), free_port()
    env = {
        **service_env,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "PORT": str(port),
        "HEALTH_PORT": str(other),
    }
    processes.start("health", [PYTHON, "-m", "worker.health"], env)

    # Then PORT wins, and the answer is 503 naming redis (the database is still fine)
    status, body = wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz"), timeout=15)
    assert status == 503
    assert body["status"] == "error"
    assert body["reason"] == "redis: ConnectionError"
    assert body["checks"]["redis"] == "ConnectionError"
    assert body["checks"]["database"] == "ok"
    assert get_json(f"http://127.0.0.1:{port}/")[0] == 503
    assert get_json(f"http://127.0.0.1:{port}/nope")[0] == 404
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", other), timeout=1).close()
    check = run_health_check(env)
    assert (check.returncode, check.stdout.strip()) == (1, "unhealthy: redis: ConnectionError")


def test_database_down_is_named(service_env):
    env = {**service_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}
    started = time.monotonic()
    check = run_health_check(env)
    assert (check.returncode, check.stdout.strip()) == (1, "unhealthy: database: OperationalError")
    assert time.monotonic() - started < 15


def test_embedded_mode_points_at_the_web_probe(tmp_path):
    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REELQUEUE_INSTANCE_DIR=str(tmp_path / "instance"),
    )
    check = run_health_check(env)
    assert check.returncode == 1
    assert check.stdout.strip() == (
        "unhealthy: embedded mode: workers run inside the web process; probe the web /healthz"
    )


def test_bad_setting_is_one_line_and_exit_2(tmp_path):
    env = base_env(DATABASE_URL="mysql://db/x", REELQUEUE_INSTANCE_DIR=str(tmp_path))
    check = run_health_check(env)
    assert check.returncode == 2
    assert check.stdout == ""
    assert check.stderr.strip().splitlines() == [
        "reelqueue: configuration error: DATABASE_URL must be a sqlite:// or postgresql:// URL, "
        "got 'mysql://db/x'"
    ]


def test_malformed_number_is_one_line_and_exit_2(tmp_path):
    env = base_env(WORKER_HEARTBEAT_INTERVAL="soon", REELQUEUE_INSTANCE_DIR=str(tmp_path))
    check = run_health_check(env)
    assert check.returncode == 2
    assert len(check.stderr.strip().splitlines()) == 1
    assert "WORKER_HEARTBEAT_INTERVAL" in check.stderr
