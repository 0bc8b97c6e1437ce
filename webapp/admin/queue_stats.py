"""Queue statistics for operators: broker counts, job counts, workers, health.

Broker counts come from Redis in one pipelined round trip (or from the embedded broker's
in-memory queues); everything else comes from the database, the source of truth.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.jobs.counts import count_by_status
from webapp.jobs.models import JobStatus, VideoJob
from webapp.timeutil import utcnow
from worker.heartbeat import HeartbeatRegistry


@dataclass
class QueueCounts:
    name: str
    waiting: int = 0
    delayed: int = 0
    in_flight: int = 0
    dead_lettered: int = 0


@dataclass
class QueueStats:
    queues: list[QueueCounts]
    jobs: dict[str, int]
    oldest_queued_age_seconds: float | None
    workers: list[dict[str, Any]]
    healthy: bool
    reasons: list[str] = field(default_factory=list)
    broker: str = "redis"
    redis_round_trips: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["health"] = {"healthy": self.healthy, "reasons": self.reasons}
        return data


def broker_queue_names(broker) -> list[str]:
    """Declared queues, without their delay queues (reported as ``delayed``)."""
    return sorted(q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ")))


def redis_counts(broker, names: list[str]) -> list[QueueCounts]:
    """All counts for all queues in one pipeline (one round trip, whatever the queue count)."""
    pipe = broker.client.pipeline(transaction=False)
    prefix = broker.namespace
    for name in names:
        pipe.llen(f"{prefix}:{name}")
        pipe.hlen(f"{prefix}:{name}.msgs")
        pipe.hlen(f"{prefix}:{name}.DQ.msgs")
        pipe.zcard(f"{prefix}:{name}.XQ")
    values = pipe.execute()
    counts = []
    for i, name in enumerate(names):
        waiting, messages, delayed, dead = values[4 * i : 4 * i + 4]
        counts.append(QueueCounts(name, waiting, delayed, max(0, messages - waiting), dead))
    return counts


def stub_counts(broker, names: list[str], in_flight: int) -> list[QueueCounts]:
    from dramatiq.common import dq_name

    dead = broker.dead_letters_by_queue
    counts = []
    for name in names:
        queue = broker.queues.get(name)
        delay_queue = broker.queues.get(dq_name(name))
        counts.append(
            QueueCounts(
                name,
                waiting=queue.qsize() if queue else 0,
                delayed=delay_queue.qsize() if delay_queue else 0,
                dead_lettered=len(dead.get(name, [])),
            )
        )
    if counts:
        video = next((c for c in counts if c.name == "videos"), counts[0])
        video.in_flight = in_flight
    return counts


def oldest_queued_age() -> float | None:
    oldest = db.session.scalar(
        select(VideoJob.created_at)
        .where(VideoJob.status == JobStatus.QUEUED)
        .order_by(VideoJob.id)
        .limit(1)
    )
    return (utcnow() - oldest).total_seconds() if oldest else None


def completed_since(seconds: float) -> int:
    since = utcnow().timestamp() - seconds
    from datetime import UTC, datetime

    return db.session.scalar(
        select(func.count())
        .select_from(VideoJob)
        .where(
            VideoJob.status == JobStatus.COMPLETED,
            VideoJob.completed_at >= datetime.fromtimestamp(since, UTC),
        )
    )


def collect() -> QueueStats:
    """Everything the admin API and the overview show, measured now."""
    import worker.actors  # noqa: F401  (declares the queues)
    from worker.broker import broker, is_embedded

    config = current_app.config
    registry = HeartbeatRegistry(config.get("REDIS_URL"), config["WORKER_HEARTBEAT_INTERVAL"])
    reasons: list[str] = []
    workers = []
    try:
        workers = [asdict(w) for w in registry.workers()]
    except Exception as exc:  # noqa: BLE001 - report, don't fail the page
        reasons.append(f"heartbeats unavailable: {type(exc).__name__}")
    names = broker_queue_names(broker)
    queues: list[QueueCounts] = []
    trips = 0
    if is_embedded():
        queues = stub_counts(broker, names, sum(w["in_flight"] for w in workers))
    else:
        try:
            queues = redis_counts(broker, names)
            trips = 1
        except Exception as exc:  # noqa: BLE001
            reasons.append(f"redis unavailable: {type(exc).__name__}")
            queues = [QueueCounts(name) for name in names]
    if not workers:
        reasons.append("no worker heartbeat")
    age = oldest_queued_age()
    stall = float(config.get("QUEUE_STALL_SECONDS", 900))
    if age is not None and age > stall:
        reasons.append(f"oldest queued job waited {int(age)}s (> {int(stall)}s)")
    return QueueStats(
        queues=queues,
        jobs=count_by_status(),
        oldest_queued_age_seconds=age,
        workers=workers,
        healthy=not reasons,
        reasons=reasons,
        broker="embedded" if is_embedded() else "redis",
        redis_round_trips=trips,
    )


def now_ms() -> int:
    return int(time.time() * 1000)
