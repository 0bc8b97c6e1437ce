"""A whole Reelqueue deployment in real processes, for fault tests: its own redis-server (so
it can be wiped or stopped without touching anyone else's), a fresh PostgreSQL database,
gunicorn, and dramatiq workers kept alive by a small supervisor (as a PaaS restarts them).

``ledger()`` checks the invariant every fault test ends with: every job is final, each
completed job has exactly one stored video, no job is completed without one.
"""

from __future__ import annotations

import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import redis

from tests.support.processes import BIN, base_env, free_port, http, kill, run, start, wait_http
from tests.support.services import COUNT_DRIFT_SQL

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FINAL = {"completed", "failed", "cancelled"}


class Stack:
    def __init__(self, tmp_path: Path, *, db_port: int = 5432, **settings: str) -> None:
        self.tmp = tmp_path
        self.redis_port = free_port()
        self.web_port = free_port()
        self.db_name = f"rq_fault_{secrets.token_hex(4)}"
        self.db_url = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"
        self.media = tmp_path / "media"
        self.env = base_env(
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{db_port}/{self.db_name}",
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            MEDIA_ROOT=str(self.media),
            REELQUEUE_INSTANCE_DIR=str(tmp_path / "instance"),
            PORT=str(self.web_port),
            HOST="127.0.0.1",
            WEB_CONCURRENCY="2",
            WEB_THREADS="8",
            JOB_LEASE_SECONDS="3",
            RECONCILE_INTERVAL="0.5",
            WORKER_HEARTBEAT_INTERVAL="0.5",
            JOB_RETRY_BASE_DELAY="0.2",
            REDISPATCH_AFTER="30",
            RECOVERY_SPREAD_SECONDS="8",
            LOG_LEVEL="INFO",
            ENABLE_TEST_PROVIDERS="true",
            WORKER_THREADS="2",
            WORKER_PROCESSES="1",
        )
        self.env.update(settings)
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.redis_proc: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._supervise = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.key = ""

    # -- services -----------------------------------------------------------------------------
    def start_redis(self) -> None:
        self.redis_proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.redis().ping()
                return
            except redis.RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop_redis(self) -> None:
        if self.redis_proc is not None:
            kill(self.redis_proc)
            self.redis_proc = None

    def redis(self) -> redis.Redis:
        return redis.Redis(port=self.redis_port, socket_timeout=5)

    def __enter__(self) -> Stack:
        self.start_redis()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        direct = {**self.env, "DATABASE_URL": self.db_url}
        run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], direct)
        self.key = (
            run([str(BIN / "flask"), "--app", "wsgi", "clients", "create", "faults"], direct)
            .strip()
            .splitlines()[-1]
        )
        return self

    def __exit__(self, *exc) -> None:
        self.stop_supervisor()
        for proc in [*self.workers, self.web]:
            if proc is not None:
                kill(proc)
        self.stop_redis()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.media, ignore_errors=True)

    # -- processes ----------------------------------------------------------------------------
    def start_web(self) -> None:
        self.web = start(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            self.env,
            self.tmp / "web.log",
        )
        wait_http(f"{self.url}/healthz")

    def start_worker(self, **extra: str) -> subprocess.Popen:
        env = {**self.env, **extra}
        proc = start(
            [
                str(BIN / "dramatiq"),
                "worker",
                "--processes",
                env["WORKER_PROCESSES"],
                "--threads",
                env["WORKER_THREADS"],
                "--worker-shutdown-timeout",
                env.get("WORKER_SHUTDOWN_TIMEOUT", "30000"),
            ],
            env,
            self.tmp / "worker.log",
        )
        self.workers.append(proc)
        return proc

    def supervise_workers(self) -> None:
        """Keep one worker running: restart it whenever it exits (as a PaaS would)."""
        self._supervise.set()
        if not self.workers or self.workers[-1].poll() is not None:
            self.start_worker()

        def loop() -> None:
            while self._supervise.is_set():
                if self.workers[-1].poll() is not None:
                    self.start_worker()
                time.sleep(0.2)

        self._supervisor = threading.Thread(target=loop, daemon=True)
        self._supervisor.start()

    def stop_supervisor(self) -> None:
        self._supervise.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)

    def kill_workers(self, sig: int = signal.SIGKILL) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                kill(proc, sig)

    # -- the API and the database -------------------------------------------------------------
    def submit(self, n: int, **body) -> list[str]:
        ids = []
        for i in range(n):
            payload = {"prompt": f"fault job {i}", "seconds": "1", "size": "320x180", **body}
            status, created = http("POST", f"{self.url}/v1/videos", payload, self.key)
            assert status == 201, (status, created)
            ids.append(created["id"])
        return ids

    def sql(self, query: str, *args) -> list[tuple]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(query, args).fetchall()

    def statuses(self) -> dict[str, str]:
        return dict(self.sql("SELECT id, status FROM video_jobs"))

    def wait_final(self, timeout: float = 120) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            statuses = self.statuses()
            if statuses and set(statuses.values()) <= FINAL:
                return statuses
            assert time.monotonic() < deadline, Counter(statuses.values())
            time.sleep(0.25)

    def wait_for(self, predicate, timeout: float = 30, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def completions_logged(self) -> Counter:
        """How often each job was logged as completed by any worker (must be at most once)."""
        text = "".join(p.read_text(errors="replace") for p in self.tmp.glob("*.log"))
        return Counter(re.findall(r"job (video_\w+) completed", text))

    def ledger(self) -> dict[str, str]:
        """Every job final; one stored video per completed job; none completed without one."""
        rows = self.sql("SELECT id, status, video_path FROM video_jobs")
        problems = []
        for job_id, status, video_path in rows:
            if status not in FINAL:
                problems.append(f"{job_id} is {status}")
            files = list((self.media / "jobs" / job_id).glob("*.mp4"))
            if status == "completed" and (not video_path or len(files) != 1):
                problems.append(f"{job_id} completed with {len(files)} videos")
            if status != "completed" and files:
                problems.append(f"{job_id} is {status} but has a stored video")
        twice = {k: v for k, v in self.completions_logged().items() if v > 1}
        if twice:
            problems.append(f"completed more than once: {twice}")
        drift = self.sql(COUNT_DRIFT_SQL)
        if drift:
            problems.append(
                f"job counts differ from the table (status, provider, signature, n): {drift}"
            )
        assert not problems, problems[:20]
        return {job_id: status for job_id, status, _ in rows}
