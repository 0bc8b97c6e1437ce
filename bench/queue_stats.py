"""``GET /api/admin/queue`` with 50 declared queues and 100,000 waiting messages.

The real app (Flask test client, admin bearer key) on a fresh PostgreSQL database with 1,000
jobs and Redis db 12. Redis round trips are counted client-side by wrapping
``redis.connection.AbstractConnection.send_packed_command`` (one call = one request written
before its replies are read: a pipeline is one) and ``connect`` (new TCP connections, whose
handshake commands are round trips too); ``INFO commandstats``/``INFO stats`` deltas give the
server's view.

- "fixed count": the trips per request with only the app's own queues (4) and no messages must
  equal
  the trips with 50 queues and 100k messages.
- latency: median of N requests; target < 20 ms.
- baseline: the same endpoint with ``redis_counts`` swapped for a naive per-queue version
  (4 commands per queue, no pipeline), measured in the same run. Ratio = naive / ours median.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid

from bench.common import (
    ADMIN_KEY,
    REDIS_URL,
    Result,
    apply_env,
    bench_env,
    bench_redis,
    flush_bench_redis,
    log,
    main_for,
    median,
    migrate,
    pg_database,
    pg_url,
    workdir,
)

QUEUES = 50
MESSAGES = 100_000
LATENCY_TARGET_MS = 20.0


class RoundTrips:
    """Counts Redis round trips and new connections made by this process while active."""

    def __init__(self) -> None:
        import redis.connection as rc

        self.trips = self.connects = 0
        self.active = False
        self._lock = threading.Lock()
        original_send, original_connect = (
            rc.AbstractConnection.send_packed_command,
            rc.AbstractConnection.connect,
        )
        counter = self

        def send_packed_command(conn, command, check_health=True):
            if counter.active:
                with counter._lock:
                    counter.trips += 1
            return original_send(conn, command, check_health)

        def connect(conn):
            if counter.active and conn._sock is None:
                with counter._lock:
                    counter.connects += 1
            return original_connect(conn)

        rc.AbstractConnection.send_packed_command = send_packed_command
        rc.AbstractConnection.connect = connect

    def reset(self) -> None:
        self.trips = self.connects = 0


def naive_counts(broker, names):
    """The baseline: one non-pipelined command per figure per queue."""
    from webapp.admin.queue_stats import QueueCounts

    client, prefix = broker.client, broker.namespace
    counts = []
    for name in names:
        waiting = client.llen(f"{prefix}:{name}")
        messages = client.hlen(f"{prefix}:{name}.msgs")
        delayed = client.hlen(f"{prefix}:{name}.DQ.msgs")
        dead = client.zcard(f"{prefix}:{name}.XQ")
        counts.append(QueueCounts(name, waiting, delayed, max(0, messages - waiting), dead))
    return counts


def enqueue_bulk(broker, names: list[str], total: int) -> None:
    """``total`` messages spread over ``names``, through the broker's own enqueue script,
    pipelined 2,000 at a time."""
    from dramatiq import Message

    dispatch = broker.scripts["dispatch"]
    keys = [broker.namespace]
    per_queue = total // len(names)
    pipe = broker.client.pipeline(transaction=False)
    pending = 0
    for name in names:
        for i in range(per_queue):
            redis_id = str(uuid.uuid4())
            message = Message(
                queue_name=name,
                actor_name="generate_video",
                args=(f"video_bench{i:020d}",),
                kwargs={},
                options={"redis_message_id": redis_id},
            )
            args = [
                "enqueue",
                int(time.time() * 1000),
                name,
                broker.broker_id,
                broker.heartbeat_timeout,
                broker.dead_message_ttl,
                "0",
                broker._max_unpack_size(),
                redis_id,
                message.encode(),
            ]
            dispatch(keys=keys, args=args, client=pipe)
            pending += 1
            if pending >= 2000:
                pipe.execute()
                pending = 0
    if pending:
        pipe.execute()


def server_counters() -> tuple[int, int]:
    client = bench_redis()
    calls = sum(v["calls"] for v in client.info("commandstats").values())
    connections = client.info("stats")["total_connections_received"]
    client.close()
    return calls, connections


def measure(app, counter: RoundTrips, repeats: int) -> dict:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for _ in range(3):
        assert client.get("/api/admin/queue", headers=headers).status_code == 200
    latencies, trips, connects = [], [], []
    calls0, conns0 = server_counters()
    body = None
    for _ in range(repeats):
        counter.reset()
        counter.active = True
        started = time.perf_counter()
        response = client.get("/api/admin/queue", headers=headers)
        elapsed = time.perf_counter() - started
        counter.active = False
        assert response.status_code == 200, response.status_code
        body = response.get_json()
        latencies.append(elapsed * 1000)
        trips.append(counter.trips)
        connects.append(counter.connects)
    calls1, conns1 = server_counters()
    return {
        "median_ms": median(latencies),
        "trips": sorted(set(trips)),
        "connects": sorted(set(connects)),
        "server_calls": (calls1 - calls0 - 1) / repeats,  # -1: the INFO that read calls1
        "server_connections": (conns1 - conns0 - 1) / repeats,
        "queues": len(body["queues"]),
        "waiting": sum(q["waiting"] for q in body["queues"]),
    }


def describe(m: dict) -> str:
    return (
        f"{m['median_ms']:.1f} ms, {m['trips']} trips, {m['connects']} new connections, "
        f"{m['server_calls']:.1f} server commands and {m['server_connections']:.1f} "
        f"connections accepted per request, {m['queues']} queues, {m['waiting']:,} waiting"
    )


def run(args: argparse.Namespace) -> list[Result]:
    repeats = 20 if args.quick else 50
    with workdir("queue-stats") as scratch, pg_database("qs") as name:
        url = pg_url(name)
        env = bench_env(scratch, DATABASE_URL=url, REDIS_URL=REDIS_URL)
        apply_env(env)
        migrate(env)
        flush_bench_redis()
        try:
            from bench.seed import seed

            seed(url, 1000)
            counter = RoundTrips()
            import webapp.admin.queue_stats as queue_stats
            import worker.actors  # noqa: F401  (declares the app's queues)
            from webapp import create_app
            from worker.broker import broker
            from worker.heartbeat import HeartbeatRegistry, new_beat

            app = create_app()
            registry = HeartbeatRegistry(REDIS_URL, 3600)
            for _ in range(2):
                registry.beat(new_beat(4))

            small = measure(app, counter, repeats)
            app_queues = len(queue_stats.broker_queue_names(broker))
            log(f"queue_stats: the app's {app_queues} queues, empty: {describe(small)}")

            extra = [f"bench_q{i:02d}" for i in range(QUEUES - app_queues)]
            for queue in extra:
                broker.declare_queue(queue)
            names = queue_stats.broker_queue_names(broker)
            assert len(names) == QUEUES, names
            started = time.perf_counter()
            enqueue_bulk(broker, names, MESSAGES)
            log(
                f"  enqueued {MESSAGES:,} messages on {len(names)} queues in "
                f"{time.perf_counter() - started:.1f}s"
            )

            ours = measure(app, counter, repeats)
            log(f"  ours:  {describe(ours)}")
            assert ours["waiting"] == MESSAGES, ours["waiting"]
            original = queue_stats.redis_counts
            queue_stats.redis_counts = naive_counts
            try:
                naive = measure(app, counter, repeats)
            finally:
                queue_stats.redis_counts = original
            log(f"  naive: {describe(naive)}")
        finally:
            flush_bench_redis()
    fixed = ours["trips"] == small["trips"] and len(ours["trips"]) == 1
    return [
        Result(
            name="queue_stats /api/admin/queue median",
            ours=ours["median_ms"],
            baseline=naive["median_ms"],
            ratio=naive["median_ms"] / ours["median_ms"],
            target=f"< {LATENCY_TARGET_MS:g} ms",
            passed=ours["median_ms"] < LATENCY_TARGET_MS,
            unit="ms",
            note=(
                f"{QUEUES} queues, {MESSAGES:,} waiting; median of {repeats}; "
                "ratio = naive/ours (speed-up)"
            ),
        ),
        Result(
            name="queue_stats Redis round trips/request",
            ours=float(ours["trips"][-1]),
            baseline=float(naive["trips"][-1]),
            ratio=ours["trips"][-1] / small["trips"][-1],
            target="fixed (4 queues = 50)",
            passed=fixed,
            unit="",
            note=(
                f"app queues/empty: {describe(small)}; 50 queues/100k: {describe(ours)}; "
                f"naive: {describe(naive)}; ratio = trips at 50 queues / at the app's 4"
            ),
        ),
    ]


if __name__ == "__main__":
    main_for(run, __doc__.splitlines()[0])
