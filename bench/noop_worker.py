"""``dramatiq bench.noop_worker``: the pipeline baseline -- a plain RedisBroker (default
middleware) and an actor that does nothing, behind the same start gate."""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench.gate import StartGate

NOOP_QUEUE = "bench_noop"

broker = RedisBroker(url=os.environ["REDIS_URL"])
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=NOOP_QUEUE, max_retries=0, broker=broker)
def noop(job_id: str) -> None:
    """Nothing."""


broker.add_middleware(StartGate(os.environ["REDIS_URL"]))
