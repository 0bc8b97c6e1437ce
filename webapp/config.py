"""Configuration: one env-driven class, a test override, and start-up validation.

Every setting comes from the environment (see ``.env.example``). :func:`validate` turns bad
values into one :class:`ConfigError` line naming the variable, and the entry points print that
line and exit instead of a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from webapp.config_error import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("REELQUEUE_INSTANCE_DIR", PROJECT_ROOT / "instance"))
ADMIN_KEY_FILE = "admin_key"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name
MIN_ADMIN_KEY_LENGTH = 32


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _read_instance_file(name: str) -> str | None:
    path = INSTANCE_DIR / name
    try:
        return path.read_text().strip() or None
    except (FileNotFoundError, PermissionError):
        return None


def redact_url(url: str) -> str:
    """``url`` for messages: the password (if any) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
    except ValueError:
        return "<unparseable URL>"
    if not has_password:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for ``postgres://`` / ``postgresql://`` URLs (PaaS add-ons give these)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings read from the environment when the class body runs (at import)."""

    ENV = _env("REELQUEUE_ENV", "development")
    PRODUCTION = ENV == "production"
    TESTING = False

    SECRET_KEY = _env("SECRET_KEY") or _read_instance_file(SECRET_KEY_FILE)
    ADMIN_API_KEY = _env("ADMIN_API_KEY") or _read_instance_file(ADMIN_KEY_FILE)

    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'reelqueue.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = _env("REDIS_URL")
    MEDIA_ROOT = _env("MEDIA_ROOT", str(INSTANCE_DIR / "media"))

    JOB_RETENTION_DAYS = _int("JOB_RETENTION_DAYS", 7, minimum=1)
    RECONCILE_INTERVAL = _float("RECONCILE_INTERVAL", 30.0, minimum=0.1)
    JOB_MAX_ATTEMPTS = _int("JOB_MAX_ATTEMPTS", 3, minimum=1)
    JOB_TIME_LIMIT = _int("JOB_TIME_LIMIT", 900, minimum=1)  # seconds
    JOB_LEASE_SECONDS = _int("JOB_LEASE_SECONDS", 120, minimum=2)
    JOB_RETRY_BASE_DELAY = _float("JOB_RETRY_BASE_DELAY", 5.0)  # seconds, doubles per attempt
    JOB_RETRY_MAX_DELAY = _float("JOB_RETRY_MAX_DELAY", 300.0)
    # Jobs recovered together from a dead worker are re-sent spread over this many seconds,
    # so a poison job does not take the same neighbours down with it on every attempt.
    RECOVERY_SPREAD_SECONDS = _float("RECOVERY_SPREAD_SECONDS", 30.0)
    REDISPATCH_AFTER = _int("REDISPATCH_AFTER", 600, minimum=1)  # seconds a queued job may wait

    DEFAULT_PROVIDER = _env("DEFAULT_PROVIDER", "local")
    OPENAI_BASE_URL = _env("OPENAI_BASE_URL")
    OPENAI_API_KEY = _env("OPENAI_API_KEY")
    OPENAI_POLL_INTERVAL = _float("OPENAI_POLL_INTERVAL", 5.0, minimum=0.0)

    MAX_CONTENT_LENGTH = _int("MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024)
    HEALTH_PORT = _int("HEALTH_PORT", 8001, minimum=1)
    WORKER_HEARTBEAT_INTERVAL = _float("WORKER_HEARTBEAT_INTERVAL", 5.0, minimum=0.1)
    RUN_MAINTENANCE = _bool("RUN_MAINTENANCE", True)  # reconciler thread in worker processes
    EMBEDDED_WORKER_THREADS = _int("EMBEDDED_WORKER_THREADS", 2, minimum=1)
    LOG_FORMAT = _env("LOG_FORMAT", "json" if PRODUCTION else "text")
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")

    SESSION_COOKIE_NAME = "reelqueue_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", PRODUCTION)
    SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 30, minimum=1)
    SESSION_MAX_HOURS = _int("SESSION_MAX_HOURS", 12, minimum=1)
    PERMANENT_SESSION_LIFETIME = SESSION_MAX_HOURS * 3600
    QUEUE_STALL_SECONDS = _int("QUEUE_STALL_SECONDS", 900, minimum=1)
    LOGIN_ATTEMPTS_PER_MINUTE = _int("LOGIN_ATTEMPTS_PER_MINUTE", 5, minimum=1)
    WEBHOOK_ALLOW_PRIVATE = _bool("WEBHOOK_ALLOW_PRIVATE", not PRODUCTION)
    WEBHOOK_TIMEOUT = _float("WEBHOOK_TIMEOUT", 10.0, minimum=0.1)
    WEBHOOK_RETRY_BASE_DELAY = _float("WEBHOOK_RETRY_BASE_DELAY", 5.0)  # doubles per attempt
    WEBHOOK_RETRY_MAX_DELAY = _float("WEBHOOK_RETRY_MAX_DELAY", 3600.0)
    WEBHOOK_DISABLE_AFTER_HOURS = _float("WEBHOOK_DISABLE_AFTER_HOURS", 24.0)


class TestConfig(Config):
    """For tests: fast retries and leases, a throwaway admin key and secret.

    The database URL and media root are passed per test as a mapping (see tests/conftest.py),
    so this class is never mutated.
    """

    TESTING = True
    PRODUCTION = False
    SECRET_KEY = "test-secret-key-" + "x" * 32
    ADMIN_API_KEY = "test-admin-key-" + "a" * 32
    JOB_RETRY_BASE_DELAY = 0.05
    JOB_RETRY_MAX_DELAY = 0.5
    JOB_LEASE_SECONDS = 30
    SESSION_COOKIE_SECURE = False
    WEBHOOK_ALLOW_PRIVATE = True
    WEBHOOK_RETRY_BASE_DELAY = 0.05
    WEBHOOK_RETRY_MAX_DELAY = 0.5
    OPENAI_POLL_INTERVAL = 0.01
    LOG_FORMAT = "text"
    RUN_MAINTENANCE = False  # tests call reconcile_once() themselves
    WORKER_HEARTBEAT_INTERVAL = 0.2


def validate(config: dict) -> None:
    """Raise :class:`ConfigError` naming the first bad setting."""
    key = config.get("ADMIN_API_KEY")
    if config.get("PRODUCTION"):
        if not config.get("SECRET_KEY"):
            raise ConfigError("SECRET_KEY is required in production (openssl rand -hex 32)")
        if not key:
            raise ConfigError("ADMIN_API_KEY is required in production (openssl rand -hex 32)")
    if key and len(key) < MIN_ADMIN_KEY_LENGTH:
        raise ConfigError(
            f"ADMIN_API_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters "
            "(openssl rand -hex 32)"
        )
    if not config.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY is not set (run `make run` once, or openssl rand -hex 32)")
    url = config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not url.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"DATABASE_URL must be a sqlite:// or postgresql:// URL, got {redact_url(url)!r}"
        )
    redis_url = config.get("REDIS_URL")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must be a redis:// URL, got {redact_url(redis_url)!r}")
    if config.get("DEFAULT_PROVIDER") not in ("local", "openai"):
        raise ConfigError("DEFAULT_PROVIDER must be 'local' or 'openai'")
    if config.get("DEFAULT_PROVIDER") == "openai" and not config.get("OPENAI_BASE_URL"):
        raise ConfigError("OPENAI_BASE_URL is required when DEFAULT_PROVIDER=openai")
