"""A lock with expiry shared by every worker process (Redis), or by threads (embedded)."""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """One client (one connection pool) per URL and process: no TCP connect and 5-command
    handshake per heartbeat, stats read or lock. redis-py resets the pool after a fork."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


@contextmanager
def single_flight(name: str, *, ttl_seconds: float, redis_url: str | None) -> Iterator[bool]:
    """Yield True to the one holder of ``name``; others get False and should skip.

    The Redis lock expires after ``ttl_seconds`` so a holder that dies frees it.
    """
    if redis_url is None:
        with _guard:
            lock = _local_locks.setdefault(name, threading.Lock())
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
        return
    client = redis_client(redis_url)
    token = secrets.token_hex(16)
    key = f"reelqueue:lock:{name}"
    acquired = bool(client.set(key, token, nx=True, px=int(ttl_seconds * 1000)))
    try:
        yield acquired
    finally:
        if acquired:
            client.eval(_RELEASE, 1, key, token)
