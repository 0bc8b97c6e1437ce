"""Worker heartbeats: who is alive, since when, doing how much.

Each worker process writes its record every ``WORKER_HEARTBEAT_INTERVAL`` seconds: into Redis
(a hash of JSON records plus a sorted set of last beats, so stale entries are dropped by score)
or, embedded, into this process's memory. A record older than two intervals is stale.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass

from worker.locks import redis_client

HASH_KEY = "reelqueue:workers"
BEATS_KEY = "reelqueue:workers:beats"
STALE_AFTER_INTERVALS = 2  # one missed beat is tolerated; two means the worker is gone


@dataclass
class WorkerBeat:
    id: str
    host: str
    pid: int
    started_at: float
    last_beat: float
    in_flight: int
    threads: int

    def age(self, now: float | None = None) -> float:
        return (now or time.time()) - self.last_beat


class HeartbeatRegistry:
    """Reads and writes heartbeats; ``redis_url=None`` keeps them in this process."""

    _memory: dict[str, WorkerBeat] = {}
    _memory_lock = threading.Lock()

    def __init__(self, redis_url: str | None, interval: float) -> None:
        self.redis_url = redis_url
        self.interval = interval
        self.stale_after = interval * STALE_AFTER_INTERVALS

    def beat(self, record: WorkerBeat) -> None:
        record.last_beat = time.time()
        if self.redis_url is None:
            with self._memory_lock:
                self._memory[record.id] = record
            return
        client = redis_client(self.redis_url)
        pipe = client.pipeline(transaction=False)
        pipe.hset(HASH_KEY, record.id, json.dumps(asdict(record)))
        pipe.zadd(BEATS_KEY, {record.id: record.last_beat})
        pipe.execute()

    def remove(self, worker_id: str) -> None:
        if self.redis_url is None:
            with self._memory_lock:
                self._memory.pop(worker_id, None)
            return
        client = redis_client(self.redis_url)
        client.pipeline(transaction=False).hdel(HASH_KEY, worker_id).zrem(
            BEATS_KEY, worker_id
        ).execute()

    def workers(self, *, include_stale: bool = False) -> list[WorkerBeat]:
        """Live workers (fresh beat), newest first; stale Redis entries are purged."""
        now = time.time()
        if self.redis_url is None:
            with self._memory_lock:
                records = list(self._memory.values())
        else:
            client = redis_client(self.redis_url)
            cutoff = now - self.stale_after * 20  # keep recently dead ones visible a while
            expired = client.zrangebyscore(BEATS_KEY, "-inf", cutoff)
            pipe = client.pipeline(transaction=False)
            if expired:
                pipe.hdel(HASH_KEY, *expired)
                pipe.zremrangebyscore(BEATS_KEY, "-inf", cutoff)
            pipe.hgetall(HASH_KEY)
            raw = pipe.execute()[-1]
            records = [WorkerBeat(**json.loads(v)) for v in raw.values()]
        if not include_stale:
            records = [r for r in records if r.age(now) <= self.stale_after]
        return sorted(records, key=lambda r: r.last_beat, reverse=True)


def new_beat(threads: int) -> WorkerBeat:
    now = time.time()
    return WorkerBeat(
        id=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=now,
        last_beat=now,
        in_flight=0,
        threads=threads,
    )
