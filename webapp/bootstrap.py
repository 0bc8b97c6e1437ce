"""First-start set-up for the embedded default (``make run``), runnable without an app:
``python -m webapp.bootstrap`` creates ``instance/secret_key`` and ``instance/admin_key``
(mode 0600) unless the environment sets them."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def ensure_secret_file(path: Path, *, nbytes: int = 32) -> tuple[str, bool]:
    """Read a secret from ``path`` or create it with mode 0600. Returns (value, created)."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value, False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return value, True


def instance_dir() -> Path:
    return Path(os.environ.get("REELQUEUE_INSTANCE_DIR", Path(__file__).parent.parent / "instance"))


def banner() -> str:
    """What ``make run`` prints before serving: where to go and how to get in."""
    port = os.environ.get("PORT", "8000")
    key = os.environ.get("ADMIN_API_KEY") or (instance_dir() / "admin_key").read_text().strip()
    mode = "production shape (Redis)" if os.environ.get("REDIS_URL") else "embedded"
    return "\n".join(
        [
            "",
            f"  Reelqueue ({mode}) on http://127.0.0.1:{port}",
            f"  Dashboard:  http://127.0.0.1:{port}/dashboard/",
            f"  Admin key:  {key}",
            "  Client key: .venv/bin/flask --app wsgi clients create my-app",
            "",
        ]
    )


def main() -> None:
    if "--banner" in sys.argv:
        print(banner(), flush=True)
        return
    instance = instance_dir()
    instance.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("SECRET_KEY"):
        ensure_secret_file(instance / "secret_key")
    if not os.environ.get("ADMIN_API_KEY"):
        _, created = ensure_secret_file(instance / "admin_key")
        if created:
            print(f"Created an admin key in {instance / 'admin_key'} (mode 0600).")


if __name__ == "__main__":
    main()
