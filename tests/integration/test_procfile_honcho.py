"""The whole Procfile under honcho: release, then web + worker + health, one real video.

How honcho 2.0 sets ``PORT``: every process of the *n*-th process type named on the command
line (0-based) gets ``PORT = base + 100 * n`` (+ its index within the type), where ``base`` is
``-p``, else ``PORT`` from the ``.env`` file or the environment, else 5000. So with
``honcho start -p BASE web worker health``: web gets BASE, worker BASE+100 (unused) and health
BASE+200; since PORT is always set, it wins over ``HEALTH_PORT`` in the health process.

``release`` is not started with the others: honcho stops every process as soon as one exits,
and release exits after migrating. It runs first, through ``honcho run``.
"""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess

import pytest

from tests.integration import test_health_probe as health
from tests.integration.test_health_probe import (
    ROOT,
    VENV_BIN,
    Processes,
    free_port,
    get_json,
    kill_group,
    marked_pids,
    request_json,
    wait_for,
)

# The health module's fixtures, used here too; redis_db_url (conftest.py) uses REDIS_DB_URL.
pg_database = health.pg_database
service_env = health.service_env
processes = health.processes

REDIS_DB_URL = HONCHO_REDIS_URL = "redis://127.0.0.1:6379/13"
HONCHO = str(VENV_BIN / "honcho")
HONCHO_SIGTERM_RC = 143  # honcho's own exit code after SIGTERM (128 + 15)


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return command.strip()
    raise LookupError(name)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def honcho_base_port() -> int:
    """A base port whose web (base) and health (base + 200) ports are both free."""
    for _ in range(50):
        base = free_port()
        if base + 200 <= 65535 and port_is_free(base + 200):
            return base
    raise RuntimeError("no free port pair found")


def test_procfile_runs_end_to_end_under_honcho(service_env, processes: Processes, tmp_path):
    empty_env_file = tmp_path / "empty.env"  # keep a developer's .env out of the test
    empty_env_file.write_text("")
    env = {
        **service_env,
        "WEB_CONCURRENCY": "1",
        "WORKER_PROCESSES": "1",
        "WORKER_THREADS": "2",
        "WORKER_SHUTDOWN_TIMEOUT": "5000",
        "HEALTH_PORT": str(free_port()),  # must lose against honcho's PORT
    }
    honcho_opts = ["-f", str(ROOT / "Procfile"), "-e", str(empty_env_file)]

    # Given the release line has run (through honcho, as a PaaS release phase would)
    release = subprocess.run(
        [HONCHO, "run", *honcho_opts, *shlex.split(procfile_command("release"))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert release.returncode == 0, release.stdout + release.stderr

    # When honcho starts web, worker and health
    base = honcho_base_port()
    web, health = f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 200}"
    honcho = processes.start(
        "honcho",
        [HONCHO, "start", *honcho_opts, "--no-colour", "-p", str(base), "web", "worker", "health"],
        env,
    )
    try:
        wait_for(lambda: get_json(f"{web}/healthz")[0] == 200, timeout=30, interval=0.2)

        # Then a client created by the CLI gets a real video made by the worker
        created = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", "clients", "create", "ci"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        key = created.stdout.strip().splitlines()[-1]
        status, video = request_json(
            "POST",
            f"{web}/v1/videos",
            body={"prompt": "honcho test", "seconds": "1", "size": "320x180"},
            key=key,
        )
        assert status == 201, video
        done = wait_for(
            lambda: (
                (answer := request_json("GET", f"{web}/v1/videos/{video['id']}", key=key)[1])[
                    "status"
                ]
                in ("completed", "failed")
                and answer
            ),
            timeout=60,
            interval=0.2,
        )
        assert done["status"] == "completed", done
        assert done["progress"] == 100

        # And the health process answers on honcho's PORT (base + 200), not HEALTH_PORT
        status, body = wait_for(
            lambda: (answer := get_json(f"{health}/healthz"))[0] == 200 and answer, timeout=15
        )
        assert body["checks"]["workers"]["alive"] >= 1
    except (AssertionError, KeyError) as exc:
        pytest.fail(f"{exc}\n{processes.logs()}")

    # When honcho gets SIGTERM, every process stops by itself (no SIGKILL) within 30 s
    kill_group(honcho.pid, signal.SIGTERM)
    try:
        returncode = honcho.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("honcho did not exit within 30 s:\n" + processes.logs())
    output = processes.log("honcho")
    assert returncode == HONCHO_SIGTERM_RC, output
    assert "SIGKILL" not in output, output
    # honcho signals each process group, so the `sh -c` wrapper (dash does not exec) dies of
    # SIGTERM (rc=-15) while the command itself shuts down: judge by the commands' own logs.
    for name in ("web.1", "worker.1", "health.1"):
        assert re.search(rf"{name} stopped \(rc=(0|-15)\)", output), output
    assert "Shutting down: Master" in output  # gunicorn
    assert "Stopping worker process" in output  # dramatiq
    assert "health probe stopped" in output
    wait_for(lambda: not marked_pids(processes.marker), timeout=5)
