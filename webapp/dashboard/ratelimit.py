"""Login rate limit per client address: a fixed one-minute window, in Redis when there is one
(shared by every web process) or in this process otherwise."""

from __future__ import annotations

import threading
import time

from flask import current_app

from worker.locks import redis_client

_counts: dict[tuple[str, int], int] = {}
_lock = threading.Lock()


def hit(address: str) -> tuple[bool, int]:
    """Count one attempt; returns (allowed, seconds until the window resets)."""
    limit = current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"]
    window = int(time.time() // 60)
    retry_after = 60 - int(time.time() % 60)
    url = current_app.config.get("REDIS_URL")
    if url:
        key = f"reelqueue:login:{address}:{window}"
        pipe = redis_client(url).pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
    else:
        with _lock:
            for stale in [k for k in _counts if k[1] < window]:
                del _counts[stale]
            count = _counts[(address, window)] = _counts.get((address, window), 0) + 1
    return count <= limit, retry_after


def reset(address: str) -> None:
    window = int(time.time() // 60)
    url = current_app.config.get("REDIS_URL")
    if url:
        redis_client(url).delete(f"reelqueue:login:{address}:{window}")
    else:
        with _lock:
            _counts.pop((address, window), None)
