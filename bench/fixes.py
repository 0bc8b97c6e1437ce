"""The dashboard fixes proposed in bench/RESULTS.md, applied to a benchmark database only.

``apply(conn)`` runs the proposed DDL (the same statements as the proposed migration) on one of
our ``rq_bench_*`` databases; ``patch_app()`` swaps in the proposed ``count_by_status`` (the
app code is not edited: the bench measures the proposal, the diff is in RESULTS.md).
"""

from __future__ import annotations

import time

STATUS_COUNTS_DDL = [
    # Append-only per-status deltas written by statement-level triggers (no hot counter row:
    # concurrent transactions never wait on each other), compacted by the reconciler.
    """CREATE TABLE job_status_counts (
        status varchar(16) NOT NULL,
        delta bigint NOT NULL
    )""",
    """CREATE FUNCTION video_jobs_count_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO job_status_counts SELECT status, count(*) FROM new_rows GROUP BY status;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO job_status_counts SELECT status, -count(*) FROM old_rows GROUP BY status;
      ELSE
        INSERT INTO job_status_counts
          SELECT status, sum(d) FROM (
            SELECT status, 1 AS d FROM new_rows
            UNION ALL SELECT status, -1 FROM old_rows) AS changes
          GROUP BY status HAVING sum(d) <> 0;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER video_jobs_count_insert AFTER INSERT ON video_jobs
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION video_jobs_count_status()""",
    """CREATE TRIGGER video_jobs_count_update AFTER UPDATE ON video_jobs
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION video_jobs_count_status()""",
    """CREATE TRIGGER video_jobs_count_delete AFTER DELETE ON video_jobs
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION video_jobs_count_status()""",
    "LOCK TABLE video_jobs IN SHARE MODE",
    "INSERT INTO job_status_counts SELECT status, count(*) FROM video_jobs GROUP BY status",
]
COMPACT_SQL = """WITH gone AS (DELETE FROM job_status_counts RETURNING status, delta)
INSERT INTO job_status_counts SELECT status, sum(delta) FROM gone GROUP BY status
HAVING sum(delta) <> 0"""

FAILED_GROUPS_DDL = [
    # failure_groups(): an index-only scan over the failed rows instead of heap fetches; also
    # serves failed_jobs(signature) and failed_ids_for_signature() (ordered by id).
    """CREATE INDEX ix_video_jobs_failed_signature ON video_jobs
       (error_signature, id, completed_at) WHERE status = 'failed'""",
]
SEARCH_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_video_jobs_prompt_trgm ON video_jobs USING gin (prompt gin_trgm_ops)",
    """CREATE INDEX ix_video_jobs_error_message_trgm ON video_jobs
       USING gin (error_message gin_trgm_ops) WHERE error_message IS NOT NULL""",
]


def apply(url: str, *, search: bool = True) -> dict[str, float]:
    """Run the proposed DDL on ``url`` (a benchmark database); seconds per step."""
    import psycopg

    timings = {}
    steps = [("status counts", STATUS_COUNTS_DDL), ("failed index", FAILED_GROUPS_DDL)]
    if search:
        steps.append(("trigram indexes", SEARCH_DDL))
    with psycopg.connect(url) as conn:
        for label, statements in steps:
            started = time.perf_counter()
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement)
            timings[label] = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE video_jobs")
        conn.execute("ANALYZE job_status_counts")
    return timings


def count_by_status() -> dict[str, int]:
    """The proposed ``webapp.jobs.service.count_by_status``: sum the deltas."""
    from sqlalchemy import text

    from webapp.extensions import db
    from webapp.jobs.models import JobStatus

    counts = {s.value: 0 for s in JobStatus}
    rows = db.session.execute(
        text("SELECT status, sum(delta) FROM job_status_counts GROUP BY status")
    )
    for status, total in rows:
        counts[status] = int(total)
    return counts


def patch_app() -> None:
    import webapp.admin.queue_stats
    import webapp.jobs.service

    webapp.jobs.service.count_by_status = count_by_status
    webapp.admin.queue_stats.count_by_status = count_by_status
