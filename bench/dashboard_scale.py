"""Dashboard and admin-API latency at 1,000,000 jobs vs 10,000 jobs (PostgreSQL).

Each size gets a fresh ``rq_bench_dash*`` database, migrated with ``flask db upgrade`` and
seeded with COPY (bench/seed.py: 7 days of history, ~5 % failed with stack traces, attempt
rows and error signatures). Requests go through the Flask test client of the real app with a
logged-in dashboard session (``/api/admin/queue`` with the admin bearer key), interleaved
page by page; the median of N is kept. Redis is db 12.

Tracked: each page's median at the large size / its median at 10k (target <= 2), and the
overview median at the large size (target < 100 ms). ``--profile`` adds pyinstrument output
and EXPLAIN ANALYZE of each page's slowest statement. ``--quick``: 10k vs 200k.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from contextlib import contextmanager

from bench.common import (
    ADMIN_KEY,
    REDIS_URL,
    Result,
    apply_env,
    bench_env,
    flush_bench_redis,
    log,
    main_for,
    median,
    migrate,
    pg_database,
    pg_url,
    workdir,
)

RATIO_TARGET = 2.0
OVERVIEW_TARGET_MS = 100.0
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def pages(seeded) -> list[tuple[str, str, bool]]:
    """(label, path, bearer?)"""
    return [
        ("overview", "/dashboard/", False),
        ("failed list", "/dashboard/failed", False),
        ("jobs deep page", f"/dashboard/jobs?after={seeded.deep_after}", False),
        ("search common", f"/dashboard/jobs?q={seeded.common_word}", False),
        ("search rare", f"/dashboard/jobs?q={seeded.rare_word}", False),
        ("api admin queue", "/api/admin/queue", True),
    ]


class SqlLog:
    """Per-statement timings of the requests made inside :meth:`capture`."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.entries: list[tuple[float, str, object]] = []
        self.active = False

        @event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            if self.active:
                elapsed = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
                self.entries.append((elapsed, statement, parameters))

    @contextmanager
    def capture(self):
        self.entries, self.active = [], True
        try:
            yield self
        finally:
            self.active = False


def login(client) -> None:
    page = client.get("/dashboard/login").get_data(as_text=True)
    token = _TOKEN.search(page).group(1)
    response = client.post(
        "/dashboard/login", data={"admin_key": ADMIN_KEY, "csrf_token": token, "next": ""}
    )
    assert response.status_code == 302, response.status_code


def timed_get(client, path: str, bearer: bool) -> float:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"} if bearer else {}
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} -> {response.status_code}")
    return elapsed * 1000


def measure(app, seeded, repeats: int) -> dict[str, float]:
    """Median ms per page; pages interleaved so drift hits all of them alike."""
    client = app.test_client()
    login(client)
    plan = pages(seeded)
    samples: dict[str, list[float]] = {label: [] for label, _, _ in plan}
    for _ in range(2):
        for _, path, bearer in plan:
            timed_get(client, path, bearer)
    for _ in range(repeats):
        for label, path, bearer in plan:
            samples[label].append(timed_get(client, path, bearer))
    return {label: median(values) for label, values in samples.items()}


def breakdown(app, sql: SqlLog, seeded, explain: bool) -> list[str]:
    """Where one request of each page spends its time: SQL statements vs the rest."""
    from webapp.extensions import db

    client = app.test_client()
    login(client)
    lines = []
    for label, path, bearer in pages(seeded):
        timed_get(client, path, bearer)
        with sql.capture():
            total = timed_get(client, path, bearer)
        statements = sorted(sql.entries, key=lambda e: e[0], reverse=True)
        in_sql = sum(e[0] for e in statements) * 1000
        lines.append(
            f"{label}: {total:.1f} ms total, {in_sql:.1f} ms in {len(statements)} SQL "
            f"statements, {total - in_sql:.1f} ms elsewhere (Python, templates, Redis)"
        )
        for elapsed, statement, _ in statements[:3]:
            lines.append(f"    {elapsed * 1000:7.1f} ms  {' '.join(statement.split())[:150]}")
        if explain and statements and statements[0][0] > 0.005:
            _, statement, parameters = statements[0]
            with app.app_context():
                raw = db.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    lines.extend("      | " + row[0] for row in cursor.fetchall())
                    raw.rollback()
                finally:
                    raw.close()
    return lines


def profile(app, seeded, labels: tuple[str, ...]) -> str:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "(pyinstrument not installed: pip install pyinstrument into the venv)"
    client = app.test_client()
    login(client)
    out = []
    for label, path, bearer in pages(seeded):
        if label not in labels:
            continue
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(3):
            timed_get(client, path, bearer)
        profiler.stop()
        out.append(f"--- pyinstrument: {label} x3")
        out.append(profiler.output_text(unicode=False, color=False))
    return "\n".join(out)


def one_size(
    n: int, env_base: Callable[[str], dict], repeats: int, args
) -> tuple[dict, object, list[str]]:
    from bench.seed import seed
    from webapp import create_app
    from webapp.extensions import db
    from webapp.jobs import counts

    with pg_database(f"dash{n}") as name:
        url = pg_url(name)
        migrate(env_base(url))
        log(f"dashboard: seeding {n:,} jobs")
        seeded = seed(url, n)
        log(
            f"  seeded {seeded.jobs:,} jobs ({seeded.failed:,} failed, {seeded.attempts:,} "
            f"attempts, {seeded.rare_matches} rare-word prompts) in {seeded.seconds:.0f}s"
        )
        app = create_app(
            SQLALCHEMY_DATABASE_URI=url.replace("postgresql://", "postgresql+psycopg://")
        )
        with app.app_context():
            engine = db.engine
            counts.rebuild()  # COPY ran with triggers off (session_replication_role = replica)
        sql = SqlLog(engine)
        timings = measure(app, seeded, repeats)
        log("  " + ", ".join(f"{k} {v:.1f} ms" for k, v in timings.items()))
        notes = breakdown(app, sql, seeded, explain=args.profile)
        if args.profile:
            notes.append(profile(app, seeded, ("overview", "failed list", "search rare")))
        with app.app_context():
            db.session.remove()
            engine.dispose()
    return timings, seeded, notes


def run(args: argparse.Namespace) -> list[Result]:
    small, large = 10_000, (200_000 if args.quick else 1_000_000)
    repeats = 7 if args.quick else 15
    with workdir("dashboard") as scratch:
        base = bench_env(scratch, REDIS_URL=REDIS_URL)
        apply_env(base)
        flush_bench_redis()

        def env_for(url: str) -> dict:
            return {**base, "DATABASE_URL": url}

        try:
            ref, _, _ = one_size(small, env_for, repeats, args)
            big, seeded, notes = one_size(large, env_for, repeats, args)
        finally:
            flush_bench_redis()
    print(f"\n--- where the time goes at {large:,} jobs (one request per page)")
    print("\n".join(notes))
    results = []
    size = f"{large // 1000}k" if large < 1_000_000 else "1M"
    for label in big:
        ratio = big[label] / ref[label]
        results.append(
            Result(
                name=f"dashboard {label} {size}/10k",
                ours=big[label],
                baseline=ref[label],
                ratio=ratio,
                target=f"<= {RATIO_TARGET:g}",
                passed=ratio <= RATIO_TARGET,
                unit="ms",
            )
        )
    results.append(
        Result(
            name=f"dashboard overview median at {size}",
            ours=big["overview"],
            baseline=None,
            ratio=None,
            target=f"< {OVERVIEW_TARGET_MS:g} ms",
            passed=big["overview"] < OVERVIEW_TARGET_MS,
            unit="ms",
        )
    )
    results[0].note = (
        f"{seeded.jobs:,} jobs, {seeded.failed:,} failed, {seeded.attempts:,} attempt rows; "
        f"median of {repeats}; search words {seeded.common_word!r} (~3 %) and "
        f"{seeded.rare_word!r} ({seeded.rare_matches} rows)"
    )
    return results


if __name__ == "__main__":
    main_for(run, __doc__.splitlines()[0])
