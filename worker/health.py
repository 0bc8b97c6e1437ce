"""The ``health`` process: an HTTP probe that says whether jobs can make progress.

``python -m worker.health`` serves ``GET /healthz`` (and ``/``) on ``$PORT`` (PaaS set it) or
``HEALTH_PORT``: 200 ``{"status": "ok", "checks": {...}}`` when Redis answers PING, the database
answers ``SELECT 1`` and at least one worker heartbeat is fresh (within three
``WORKER_HEARTBEAT_INTERVAL``); 503 with ``"status": "error"`` and a ``"reason"`` naming the
first failing check otherwise. ``python -m worker.health --check`` runs the checks once, prints
one line and exits 0 (healthy) or 1 (unhealthy), for Docker ``HEALTHCHECK``. A bad setting
prints one line on stderr and exits 2.

The checks run in parallel daemon threads under one deadline, so a hung Redis or database
cannot hang the probe. No Flask app is created: settings come from :class:`webapp.config.Config`
and the database is reached through a plain SQLAlchemy engine.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

from webapp.config_error import ConfigError
from worker.heartbeat import STALE_AFTER_INTERVALS, HeartbeatRegistry

log = logging.getLogger("reelqueue.health")

CHECK_TIMEOUT = 2.0  # seconds, per check (connect and query)
DEADLINE_SLACK = 0.5  # the thread deadline, past the libraries' own timeouts
HEALTH_PATHS = ("/healthz", "/")
EMBEDDED_REASON = "embedded mode: workers run inside the web process; probe the web /healthz"
NOT_RUN = "not run"


@dataclass(frozen=True)
class Settings:
    """What the probe needs, read once at start."""

    redis_url: str | None
    database_url: str
    heartbeat_interval: float
    host: str
    port: int


@dataclass
class Report:
    """The outcome of one probe: per-check results and the first failure, if any."""

    checks: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict[str, Any]:
        """The JSON body served by ``/healthz``."""
        body: dict[str, Any] = {"status": "ok" if self.ok else "error", "checks": self.checks}
        if not self.ok:
            body["reason"] = self.reason
        return body

    def summary(self) -> str:
        """One line for ``--check``: ``ok: ...`` or ``unhealthy: <reason>``."""
        if not self.ok:
            return f"unhealthy: {self.reason}"
        alive = self.checks["workers"]["alive"]
        return f"ok: redis ok, database ok, {alive} worker(s) alive"


def _port(environ: Mapping[str, str], default: int) -> int:
    """``PORT`` (set by PaaS and honcho) wins over ``HEALTH_PORT``."""
    raw = environ.get("PORT") or ""
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"PORT must be a whole number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"PORT must be between 1 and 65535, got {port}")
    return port


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read and check the settings; raise :class:`ConfigError` naming a bad one.

    ``environ`` supplies ``PORT`` and ``HOST``; everything else comes from
    :class:`webapp.config.Config`, which reads ``os.environ`` when it is imported.
    """
    from webapp.config import Config, redact_url

    database_url = Config.SQLALCHEMY_DATABASE_URI
    if not database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            "DATABASE_URL must be a sqlite:// or postgresql:// URL, "
            f"got {redact_url(database_url)!r}"
        )
    redis_url = Config.REDIS_URL
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must be a redis:// URL, got {redact_url(redis_url)!r}")
    return Settings(
        redis_url=redis_url,
        database_url=database_url,
        heartbeat_interval=float(Config.WORKER_HEARTBEAT_INTERVAL),
        host=environ.get("HOST") or "0.0.0.0",  # noqa: S104 - a probe for the platform
        port=_port(environ, Config.HEALTH_PORT),
    )


def database_engine(url: str) -> Engine:
    """A small engine whose connections give up after :data:`CHECK_TIMEOUT`."""
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        connect_args: dict[str, Any] = {
            "connect_timeout": int(CHECK_TIMEOUT),
            "options": f"-c statement_timeout={int(CHECK_TIMEOUT * 1000)}",
        }
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=2,
            pool_timeout=CHECK_TIMEOUT,
            connect_args=connect_args,
        )
    return create_engine(url, pool_pre_ping=True, connect_args={"timeout": CHECK_TIMEOUT})


def _run_bounded(checks: Mapping[str, Callable[[], Any]], timeout: float) -> dict[str, Any]:
    """Run ``checks`` in parallel daemon threads; each result is a value or an exception.

    A check still running at the deadline yields :class:`TimeoutError` (its thread is left
    to finish on its own: daemon threads never keep the process alive).
    """
    results: dict[str, Any] = {}

    def capture(name: str, check: Callable[[], Any]) -> None:
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - every failure is a health answer
            results[name] = exc

    threads = [
        threading.Thread(target=capture, args=item, name=f"health-{item[0]}", daemon=True)
        for item in checks.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    done = dict(results)
    return {name: done.get(name, TimeoutError(f"{name} check timed out")) for name in checks}


class Probe:
    """Runs the checks; holds one Redis client and one engine for the process's life."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = (
            HeartbeatRegistry(settings.redis_url, settings.heartbeat_interval)
            if settings.redis_url
            else None
        )
        self._redis = (
            redis.Redis.from_url(
                settings.redis_url,
                socket_timeout=CHECK_TIMEOUT,
                socket_connect_timeout=CHECK_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
            )
            if settings.redis_url
            else None
        )
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()

    @property
    def stale_after(self) -> float:
        return self.settings.heartbeat_interval * STALE_AFTER_INTERVALS

    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = database_engine(self.settings.database_url)
            return self._engine

    def check_redis(self) -> str:
        """Raise unless Redis answers PING."""
        assert self._redis is not None
        self._redis.ping()
        return "ok"

    def check_database(self) -> str:
        """Raise unless the database answers ``SELECT 1``."""
        with self.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"

    def check_workers(self) -> dict[str, Any]:
        """Fresh heartbeats, summed (``alive`` is 0 when no worker beat recently)."""
        assert self.registry is not None
        beats = self.registry.workers()
        now = time.time()
        return {
            "alive": len(beats),
            "threads": sum(b.threads for b in beats),
            "in_flight": sum(b.in_flight for b in beats),
            "newest_beat_age": round(min((b.age(now) for b in beats), default=-1.0), 2),
            "stale_after": self.stale_after,
        }

    def run(self) -> Report:
        """One probe; never takes much longer than :data:`CHECK_TIMEOUT`."""
        checks: dict[str, Callable[[], Any]] = {"database": self.check_database}
        if self.settings.redis_url:
            checks |= {"redis": self.check_redis, "workers": self.check_workers}
        results = _run_bounded(checks, CHECK_TIMEOUT + DEADLINE_SLACK)
        report = Report()
        if not self.settings.redis_url:
            report.checks = {"redis": "not configured", "workers": NOT_RUN}
            report.reason = EMBEDDED_REASON
        for name in ("redis", "database", "workers"):
            if name in results:
                self._record(report, name, results[name])
        return report

    def _record(self, report: Report, name: str, result: Any) -> None:
        """Put one check's result in ``report``; the first failure becomes the reason."""
        if isinstance(result, BaseException):
            report.checks[name] = type(result).__name__
            failure = f"{name}: {type(result).__name__}"
            log.debug("health check %s failed", name, exc_info=result)
        else:
            report.checks[name] = result
            failure = None
            if name == "workers" and not result["alive"]:
                failure = f"no worker heartbeat in the last {self.stale_after:g}s"
        if failure and report.reason is None:
            report.reason = failure


class HealthServer(ThreadingHTTPServer):
    """The HTTP side: ``GET``/``HEAD`` ``/healthz`` and ``/``."""

    daemon_threads = True

    def __init__(self, settings: Settings, probe: Probe) -> None:
        super().__init__((settings.host, settings.port), HealthHandler)
        self.probe = probe
        self._last_reason: str | None = ""  # "" = nothing reported yet
        self._reason_lock = threading.Lock()

    def note(self, report: Report) -> None:
        """Log when the answer changes (not on every probe)."""
        with self._reason_lock:
            changed, self._last_reason = report.reason != self._last_reason, report.reason
        if changed:
            if report.ok:
                log.info("healthy: %s", report.summary())
            else:
                log.warning("unhealthy: %s", report.reason)


class HealthHandler(BaseHTTPRequestHandler):
    server: HealthServer
    server_version = "reelqueue-health"

    def do_GET(self) -> None:
        """Serve the probe result (200/503) or 404."""
        self._answer(include_body=True)

    def do_HEAD(self) -> None:
        """Same status as GET, no body."""
        self._answer(include_body=False)

    def _answer(self, *, include_body: bool) -> None:
        if self.path.split("?", 1)[0] not in HEALTH_PATHS:
            status, body = HTTPStatus.NOT_FOUND, {"error": "not found"}
        else:
            report = self.server.probe.run()
            self.server.note(report)
            status = HTTPStatus.OK if report.ok else HTTPStatus.SERVICE_UNAVAILABLE
            body = report.as_dict()
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if include_body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: probes arrive every few seconds; state changes are logged."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then close the socket and return."""
    server = HealthServer(settings, Probe(settings))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    log.info("health probe on http://%s:%d/healthz", settings.host, server.server_port)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log.info("health probe stopped")


def check_once(settings: Settings) -> int:
    """Print one line and return the exit code: 0 healthy, 1 unhealthy."""
    report = Probe(settings).run()
    print(report.summary(), flush=True)
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m worker.health [--check]``."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [health] %(levelname)s %(message)s")
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.stderr.write(f"reelqueue: configuration error: {exc}\n")
        return 2
    if "--check" in args:
        return check_once(settings)
    serve(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
