"""``POST /v1/videos`` throughput under gunicorn, production shape, vs a bare endpoint.

For PostgreSQL (a fresh ``rq_bench_api_*`` database) and for SQLite (a fresh file), both
migrated with ``flask --app wsgi db upgrade``, with ``REDIS_URL`` on Redis db 12:

- ours: ``gunicorn -c gunicorn.conf.py wsgi:app`` (``REELQUEUE_ENV=production``, 2 workers x
  8 threads -- the defaults), loaded with JSON creates carrying a client's bearer key;
- baseline: ``gunicorn -c gunicorn.conf.py bench.bare_app:app`` -- same settings, one route
  that inserts one row with SQLAlchemy and sends one Dramatiq message;

Load: wrk (1 thread, 16 keep-alive connections = 2 workers x 8 threads) on 127.0.0.1, after
a warm-up; the best of ``rounds`` interleaved rounds is kept for each side. No worker runs:
messages queue in Redis db 12, which is flushed afterwards. Ratio = ours / baseline req/s.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench.common import (
    BIN,
    REDIS_URL,
    Result,
    bench_env,
    bench_redis,
    flush_bench_redis,
    free_port,
    log,
    main_for,
    migrate,
    pg_database,
    pg_url,
    process,
    run_cmd,
    tail,
    wait_http,
    workdir,
)
from bench.loadgen import LoadResult, post_json_load, tool_name

TARGET = 0.7
CONNECTIONS = 16
SIDES = (  # (side, gunicorn target, extra environment)
    ("ours", "wsgi:app", {}),
    ("bare", "bench.bare_app:app", {}),
)
BODY = {"prompt": "a paper boat drifting down a river at dawn", "seconds": "4", "size": "1280x720"}


@contextlib.contextmanager
def database(backend: str, scratch: Path) -> Iterator[str]:
    if backend == "postgresql":
        with pg_database("api") as name:
            yield pg_url(name)
    else:
        yield f"sqlite:///{scratch / 'bench.sqlite3'}"


def create_client_key(env: dict[str, str]) -> str:
    out = run_cmd([str(BIN / "flask"), "--app", "wsgi", "clients", "create", "bench"], env)
    return out.strip().splitlines()[-1].strip()


def serve_and_load(
    target: str, env: dict[str, str], key: str, scratch: Path, warmup: float, seconds: float
) -> LoadResult:
    port = free_port()
    server_env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
    logfile = scratch / f"{target.replace(':', '_')}.log"
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", target]
    with process(args, server_env, logfile) as proc:
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        except RuntimeError:
            log(tail(logfile))
            raise
        url = f"http://127.0.0.1:{port}/v1/videos"
        headers = {"Authorization": f"Bearer {key}"}
        post_json_load(url, BODY, headers, seconds=warmup, connections=CONNECTIONS, scratch=scratch)
        result = post_json_load(
            url, BODY, headers, seconds=seconds, connections=CONNECTIONS, scratch=scratch
        )
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn died during the run:\n{tail(logfile)}")
    return result


def count_rows(url: str) -> int:
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM video_jobs")).scalar_one()
    engine.dispose()
    return count


def run(args: argparse.Namespace) -> list[Result]:
    warmup, seconds, rounds = (2, 6, 1) if args.quick else (3, 10, 2)
    results = []
    log(f"api_create: load tool {tool_name()}, {CONNECTIONS} connections, {seconds}s x {rounds}")
    for backend in ("postgresql", "sqlite"):
        with workdir(f"api-{backend}") as scratch, database(backend, scratch) as url:
            flush_bench_redis()
            env = bench_env(
                scratch, DATABASE_URL=url, REDIS_URL=REDIS_URL, REELQUEUE_ENV="production"
            )
            migrate(env)
            key = create_client_key(env)
            best: dict[str, LoadResult] = {}
            total_ok = 0
            for round_no in range(rounds):
                for side, target, extra in SIDES:
                    res = serve_and_load(target, {**env, **extra}, key, scratch, warmup, seconds)
                    log(
                        f"  {backend} {side} round {round_no + 1}: {res.rps:.0f} req/s "
                        f"p50 {res.p50_ms:.1f} ms p99 {res.p99_ms:.1f} ms errors {res.errors}"
                    )
                    if res.errors:
                        raise RuntimeError(f"{side} answered {res.errors} errors on {backend}")
                    total_ok += res.requests
                    if side not in best or res.rps > best[side].rps:
                        best[side] = res
            rows = count_rows(url)
            redis_client = bench_redis()
            queued = redis_client.llen("dramatiq:videos") + redis_client.llen(
                "dramatiq:bare_videos"
            )
            redis_client.close()
            flush_bench_redis()
        ours, bare = best["ours"], best["bare"]
        ratio = ours.rps / bare.rps
        results.append(
            Result(
                name=f"api_create[{backend}] req/s",
                ours=ours.rps,
                baseline=bare.rps,
                ratio=ratio,
                target=f">= {TARGET}",
                passed=ratio >= TARGET,
                unit="req/s",
                note=(
                    f"{ours.tool}; p50/p99 ours {ours.p50_ms:.1f}/{ours.p99_ms:.1f} ms, "
                    f"bare {bare.p50_ms:.1f}/{bare.p99_ms:.1f} ms; "
                    f"{rows} rows and {queued} queued messages for {total_ok} responses "
                    "(warm-ups included in rows)"
                ),
                extra={side: best[side].__dict__ | {"rps": best[side].rps} for side in best},
            )
        )
    return results


if __name__ == "__main__":
    main_for(run, __doc__.splitlines()[0])
