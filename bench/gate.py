"""A start gate for benchmark workers: every worker process warms up, says it is ready, and
waits for one ``go`` -- so the timed window starts with all processes booted and nothing
consumed yet (Dramatiq starts consumers between ``before_`` and ``after_worker_boot``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import redis
from dramatiq.middleware import Middleware

READY_KEY = "bench:gate:ready"
GO_KEY = "bench:gate:go"
MAX_WAIT = 180.0  # a worker never waits longer than this for the go


class StartGate(Middleware):
    def __init__(self, redis_url: str, warmup: Callable[[], None] | None = None) -> None:
        self.redis_url = redis_url
        self.warmup = warmup

    def before_worker_boot(self, broker, worker) -> None:
        if self.warmup is not None:
            self.warmup()
        client = redis.Redis.from_url(self.redis_url)
        client.sadd(READY_KEY, os.getpid())
        deadline = time.monotonic() + MAX_WAIT
        while not client.exists(GO_KEY) and time.monotonic() < deadline:
            time.sleep(0.002)
        client.close()
