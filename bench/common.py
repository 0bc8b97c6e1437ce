"""Shared plumbing for the benchmarks: environments, throwaway databases, processes, results.

Everything here touches only what the benchmarks own: PostgreSQL databases named
``rq_bench_*`` (created and dropped here), Redis database 12, and temporary directories.
Every process is started in its own session and killed as a group.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PY = sys.executable

REDIS_DB = 12
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN_URL = f"{PG_SERVER}/postgres"
SECRET_KEY = "bench-secret-key-" + "s" * 32
ADMIN_KEY = "bench-admin-key-" + "k" * 32
_DB_NAME = re.compile(r"^rq_bench_[a-z0-9_]{1,40}$")


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    """One row of the table. ``ratio`` is what we track; ``passed`` says whether it meets
    ``target`` (a human-readable rule such as ``>= 0.7``)."""

    name: str
    ours: float | None
    baseline: float | None
    ratio: float | None
    target: str
    passed: bool | None
    unit: str = ""
    baseline_unit: str | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    rows = [("benchmark", "ours", "baseline", "ratio", "target", "result")]
    for r in results:
        verdict = "-" if r.passed is None else ("PASS" if r.passed else "FAIL")
        rows.append(
            (
                r.name,
                fmt(r.ours, r.unit),
                fmt(r.baseline, r.baseline_unit if r.baseline_unit is not None else r.unit),
                "-" if r.ratio is None else f"{r.ratio:.2f}",
                r.target,
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        )
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def print_results(results: list[Result]) -> None:
    print()
    print(table(results))
    for r in results:
        if r.note:
            print(f"  {r.name}: {r.note}")
    sys.stdout.flush()


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main_for(run: Callable[[argparse.Namespace], list[Result]], description: str) -> None:
    """The ``python -m bench.x`` entry: parse ``--quick``/``--json``, run, print, save."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller, faster run")
    parser.add_argument("--json", type=Path, help="also write the results here (JSON)")
    parser.add_argument("--profile", action="store_true", help="print profiles where supported")
    args = parser.parse_args()
    install_signal_handlers()
    results = run(args)
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so every ``finally`` (process and database
    cleanup) runs when the runner or a user stops us."""

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- environment


def bench_env(workdir: Path, **extra: str) -> dict[str, str]:
    """Environment for app processes: our keys, a private instance dir and media root."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        SECRET_KEY=SECRET_KEY,
        ADMIN_API_KEY=ADMIN_KEY,
        REELQUEUE_INSTANCE_DIR=str(workdir / "instance"),
        MEDIA_ROOT=str(workdir / "media"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    (workdir / "instance").mkdir(parents=True, exist_ok=True)
    (workdir / "media").mkdir(parents=True, exist_ok=True)
    return env


def apply_env(env: dict[str, str]) -> None:
    """For in-process benchmarks: must run before anything under ``webapp``/``worker`` is
    imported (the config and the broker are read at import)."""
    os.environ.update(env)
    for name in ("DATABASE_URL", "REDIS_URL"):
        if name not in env:
            os.environ.pop(name, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"rq-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- PostgreSQL


def pg_url(name: str, driver: str = "postgresql") -> str:
    return f"{driver}://postgres@127.0.0.1:5432/{name}"


def _check_name(name: str) -> str:
    if not _DB_NAME.match(name):
        raise ValueError(f"benchmarks only touch databases named rq_bench_*, not {name!r}")
    return name


def pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_check_name(name)}" WITH (FORCE)')


@contextlib.contextmanager
def pg_database(label: str) -> Iterator[str]:
    """A fresh, empty database ``rq_bench_<label>_<pid>``; dropped afterwards. Yields its name."""
    import psycopg

    name = _check_name(f"rq_bench_{label}_{os.getpid()}")
    pg_drop(name)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        try:
            pg_drop(name)
        except Exception as exc:  # noqa: BLE001 - report, keep cleaning up
            log(f"could not drop {name}: {exc}")


def server_versions() -> dict[str, str]:
    import psycopg
    import redis

    with psycopg.connect(PG_ADMIN_URL) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    info = redis.Redis.from_url(REDIS_URL).info("server")
    return {"postgresql": pg, "redis": info["redis_version"]}


# --------------------------------------------------------------------------- Redis


def bench_redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    assert client.connection_pool.connection_kwargs.get("db") == REDIS_DB
    return client


def flush_bench_redis() -> None:
    """Empty Redis database 12 (the benchmarks' own), never any other."""
    client = bench_redis()
    client.execute_command("SELECT", REDIS_DB)  # belt and braces: this connection is on db 12
    client.flushdb()
    client.close()


# --------------------------------------------------------------------------- processes


def migrate(env: dict[str, str]) -> None:
    """``flask --app wsgi db upgrade`` against the env's DATABASE_URL."""
    run_cmd([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)


def run_cmd(args: list[str], env: dict[str, str], timeout: float = 180) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], logfile: Path) -> Iterator[subprocess.Popen]:
    """Run ``args`` in its own session; on exit SIGTERM its group, then SIGKILL."""
    with open(logfile, "ab") as handle:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen, grace: float = 15) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # the leader may be gone while children linger: always sweep the group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
