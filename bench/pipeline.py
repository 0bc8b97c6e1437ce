"""Jobs per second through the whole worker path vs raw Dramatiq draining no-op messages.

- ours: ``dramatiq bench.worker_entry --processes P --threads T`` -- the real broker,
  middleware (app context, runtime/heartbeats), ``generate_video`` actor and ``run_job``
  (claim, progress, storage, fenced finish, webhook outbox) on a fresh PostgreSQL database,
  with the app's ``null`` test provider (``ENABLE_TEST_PROVIDERS=true``; four ``ctx.progress``
  calls, two tiny files). N queued jobs are created and dispatched with the app's own
  ``dispatch_jobs``.
- baseline: ``dramatiq bench.noop_worker`` with the same ``--processes``/``--threads`` on the
  same Redis, draining N no-op messages.

(The baseline drains 5N messages so its timed window is as long as ours.)
Both start behind a gate (bench/gate.py): the clock starts when every process has booted and
warmed up, and stops when the queue and its message hash are empty (every message acked).
``RUN_MAINTENANCE=0`` (no reconciler pass during the window). Ratio = ours / baseline jobs/s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import (
    BIN,
    REDIS_URL,
    Result,
    apply_env,
    bench_env,
    bench_redis,
    flush_bench_redis,
    log,
    main_for,
    migrate,
    pg_database,
    pg_url,
    process,
    tail,
    workdir,
)
from bench.gate import GO_KEY, READY_KEY

TARGET = 0.5
PROCESSES, THREADS = 2, 4
TIMEOUT = 240.0


def seed_jobs(n: int) -> list[str]:
    """Create ``n`` queued ``null`` jobs and dispatch them with the app's own code."""
    from webapp import create_app
    from webapp.extensions import db
    from webapp.jobs.dispatch import dispatch_jobs
    from webapp.jobs.params import VideoParams
    from webapp.jobs.service import build_job

    app = create_app()
    with app.app_context():
        params = VideoParams(
            prompt="null provider benchmark",
            provider="null",
            model="sora-2",
            seconds=4,
            size="1280x720",
        )
        jobs = [build_job(params, client_id=None) for _ in range(n)]
        ids = [job.id for job in jobs]
        db.session.add_all(jobs)
        db.session.commit()
        sent = dispatch_jobs(ids)
        assert sent == n, f"dispatched {sent} of {n}"
        db.session.remove()
        db.engine.dispose()
    return ids


def profile_in_process(n: int) -> None:
    """``--profile``: run ``run_job`` for ``n`` more null jobs in this process (one thread),
    counting SQL statements per job and printing a pyinstrument (or cProfile) summary."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from webapp import create_app
    from webapp.extensions import db
    from worker.pipeline import run_job

    ids = seed_jobs(n)
    bench_redis().delete("dramatiq:videos", "dramatiq:videos.msgs")
    app = create_app()
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    warm, timed = ids[:20], ids[20:]
    for job_id in warm:
        with app.app_context():
            run_job(job_id)
    statements.clear()
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None
    profiler = Profiler(interval=0.0005) if Profiler else cProfile.Profile()
    started = time.perf_counter()
    cpu = time.process_time()
    profiler.enable() if not Profiler else profiler.start()
    for job_id in timed:
        with app.app_context():
            run_job(job_id)
    profiler.disable() if not Profiler else profiler.stop()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    kinds: dict[str, int] = {}
    for kind in statements:
        kinds[kind] = kinds.get(kind, 0) + 1
    per_job = {k: round(v / len(timed), 2) for k, v in sorted(kinds.items())}
    print(
        f"\n--- pipeline profile: {len(timed)} jobs in one thread, "
        f"{wall / len(timed) * 1000:.2f} ms wall and "
        f"{cpu / len(timed) * 1000:.2f} ms CPU per job (profiler on)"
    )
    print(f"SQL statements per job: {per_job}")
    if Profiler:
        print(profiler.output_text(unicode=False, color=False))
    else:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    event.remove(engine, "before_cursor_execute", count)


def status_counts() -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_url_current())
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM video_jobs GROUP BY status"))
        counts = dict(rows.all())
    engine.dispose()
    return counts


_CURRENT_URL = ""


def pg_url_current() -> str:
    return _CURRENT_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def drain(module: str, queue: str, n: int, env: dict[str, str], logfile: Path) -> float:
    """Start the workers behind the gate, open it, return seconds until ``queue`` is drained."""
    client = bench_redis()
    client.delete(READY_KEY, GO_KEY)
    args = [
        str(BIN / "dramatiq"),
        module,
        "--processes",
        str(PROCESSES),
        "--threads",
        str(THREADS),
        "--worker-shutdown-timeout",
        "5000",
    ]
    with process(args, env, logfile) as proc:
        deadline = time.monotonic() + 120
        while client.scard(READY_KEY) < PROCESSES:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{module} workers did not boot:\n{tail(logfile)}")
            time.sleep(0.05)
        assert client.llen(f"dramatiq:{queue}") == n, "messages missing before the start"
        started = time.perf_counter()
        client.set(GO_KEY, "1")
        deadline = time.monotonic() + TIMEOUT
        while True:
            pipe = client.pipeline(transaction=False)
            pipe.llen(f"dramatiq:{queue}")
            pipe.hlen(f"dramatiq:{queue}.msgs")
            waiting, unacked = pipe.execute()
            if waiting == 0 and unacked == 0:
                elapsed = time.perf_counter() - started
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{module} exited early:\n{tail(logfile)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{module}: {waiting + unacked} messages left after {TIMEOUT}s")
            time.sleep(0.005)
    return elapsed


def run(args: argparse.Namespace) -> list[Result]:
    global _CURRENT_URL
    n = 600 if args.quick else 3000
    n_base = 5 * n  # raw Dramatiq is ~10x faster: more messages keep its window long enough
    with workdir("pipeline") as scratch, pg_database("pipe") as name:
        _CURRENT_URL = pg_url(name)
        env = bench_env(
            scratch,
            DATABASE_URL=_CURRENT_URL,
            REDIS_URL=REDIS_URL,
            RUN_MAINTENANCE="0",
            ENABLE_TEST_PROVIDERS="true",
            LOG_LEVEL="WARNING",
            WORKER_HEARTBEAT_INTERVAL="1",
        )
        apply_env(env)
        migrate(env)
        flush_bench_redis()
        try:
            log(f"pipeline: seeding and dispatching {n} null jobs")
            seed_jobs(n)
            ours_s = drain("bench.worker_entry", "videos", n, env, scratch / "worker.log")
            counts = status_counts()
            if counts.get("completed", 0) != n:
                raise RuntimeError(
                    f"not every job completed: {counts}\n{tail(scratch / 'worker.log')}"
                )
            files = len(list((scratch / "media" / "jobs").glob("*/video.mp4")))
            log(
                f"  ours: {n} jobs in {ours_s:.2f}s ({n / ours_s:.0f} jobs/s); "
                f"{files} videos stored"
            )

            from bench.noop_worker import noop

            for i in range(n_base):
                noop.send(f"video_{i:026d}")
            base_s = drain("bench.noop_worker", "bench_noop", n_base, env, scratch / "noop.log")
            log(f"  baseline: {n_base} messages in {base_s:.2f}s ({n_base / base_s:.0f} msg/s)")
            if args.profile:
                profile_in_process(200)
        finally:
            flush_bench_redis()
    ours, base = n / ours_s, n_base / base_s
    return [
        Result(
            name="pipeline jobs/s (null provider)",
            ours=ours,
            baseline=base,
            ratio=ours / base,
            target=f">= {TARGET}",
            passed=ours / base >= TARGET,
            unit="jobs/s",
            baseline_unit="msg/s",
            note=(
                f"{n} jobs, --processes {PROCESSES} --threads {THREADS}, PostgreSQL; "
                f"ours {ours_s:.2f}s; raw dramatiq {n_base} msgs in {base_s:.2f}s; "
                f"all {n} completed, {files} files"
            ),
        ),
    ]


if __name__ == "__main__":
    main_for(run, __doc__.splitlines()[0])
