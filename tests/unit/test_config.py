"""Bad configuration stops the process at start with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, base_env


def start_web(tmp_path, **env: str) -> subprocess.CompletedProcess:
    environment = base_env(REELQUEUE_INSTANCE_DIR=str(tmp_path), **env)
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REELQUEUE_ENV": "production", "ADMIN_API_KEY": ""}, "ADMIN_API_KEY"),
        ({"REELQUEUE_ENV": "production", "ADMIN_API_KEY": "short"}, "ADMIN_API_KEY"),
        ({"REELQUEUE_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY"),
        ({"JOB_MAX_ATTEMPTS": "three"}, "JOB_MAX_ATTEMPTS"),
        ({"RECONCILE_INTERVAL": "-1"}, "RECONCILE_INTERVAL"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://nope"}, "REDIS_URL"),
        ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE"),
    ],
)
def test_bad_settings_stop_the_process_with_one_line(tmp_path, env, variable):
    result = start_web(tmp_path, **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_production_with_good_settings_starts(tmp_path):
    result = start_web(
        tmp_path, REELQUEUE_ENV="production", ADMIN_API_KEY="k" * 40, SECRET_KEY="s" * 40
    )
    assert result.returncode == 0, result.stderr


def test_clients_cli_creates_lists_and_revokes(runner, client):
    created = runner.invoke(args=["clients", "create", "cli-app"])
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("rq_")
    assert client.get("/v1/videos", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listed = runner.invoke(args=["clients", "list"]).output
    assert "cli-app" in listed and key not in listed and "active" in listed
    client_id = listed.split("\t", 1)[0]
    assert "Revoked" in runner.invoke(args=["clients", "revoke", client_id]).output
    assert client.get("/v1/videos", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert runner.invoke(args=["clients", "revoke", "999"]).exit_code != 0
