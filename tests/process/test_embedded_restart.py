"""The embedded default survives a crash: kill -9 the one process with jobs queued and
running, start it again, and every job completes (the reconciler re-dispatches them)."""

from __future__ import annotations

import time

import pytest

from tests.support.processes import BIN, base_env, free_port, http, kill, run, start, wait_http

pytestmark = pytest.mark.slow


def test_restart_of_the_embedded_app_finishes_every_queued_job(tmp_path):
    port = free_port()
    env = base_env(
        REELQUEUE_INSTANCE_DIR=str(tmp_path / "instance"),
        PORT=str(port),
        HOST="127.0.0.1",
        JOB_LEASE_SECONDS="3",
        RECONCILE_INTERVAL="0.5",
        EMBEDDED_WORKER_THREADS="1",
        WORKER_HEARTBEAT_INTERVAL="0.5",
    )
    run([str(BIN / "python"), "-m", "webapp.bootstrap"], env)  # what `make run` does first
    run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)
    key = (
        run([str(BIN / "flask"), "--app", "wsgi", "clients", "create", "restart"], env)
        .strip()
        .splitlines()[-1]
    )
    server = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
    base = f"http://127.0.0.1:{port}"

    first = start(server, env, tmp_path / "first.log")
    try:
        wait_http(f"{base}/healthz")
        ids = []
        for i in range(4):
            status, body = http(
                "POST",
                f"{base}/v1/videos",
                {"prompt": f"crash test {i}", "seconds": "8", "size": "1280x720"},
                key,
            )
            assert status == 201, body
            ids.append(body["id"])
        deadline = time.monotonic() + 20
        while http("GET", f"{base}/v1/videos/{ids[0]}", key=key)[1]["status"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        kill(first)  # SIGKILL: nothing gets to clean up

    statuses = {}
    second = start(server, env, tmp_path / "second.log")
    try:
        wait_http(f"{base}/healthz")
        # Given the crash left one job in progress and the rest queued in a lost broker
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            statuses = {i: http("GET", f"{base}/v1/videos/{i}", key=key)[1]["status"] for i in ids}
            if set(statuses.values()) == {"completed"}:
                break
            time.sleep(0.5)
    finally:
        kill(second)
    assert set(statuses.values()) == {"completed"}, statuses
