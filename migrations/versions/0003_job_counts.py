"""job counts kept by triggers, failed-signature index, trigram search indexes

The dashboard's counts by status and its failure groups are read from ``job_status_counts``
(deltas appended by the triggers below), so they cost the same at 10,000 jobs and at
1,000,000. The triggers live only here: a later migration that rebuilds ``video_jobs`` on
SQLite (Alembic's batch "move and copy") must create them again.

Revision ID: 0003_job_counts
Revises: 0002_admin_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_job_counts"
down_revision = "0002_admin_sessions"
branch_labels = None
depends_on = None

# Jobs are counted by (status, provider, signature): a failed job under its error signature,
# every other status under NULL. A job's provider never changes.
PG_FUNCTIONS = [
    # INSERT and DELETE: one statement-level trigger each, so a bulk load or a retention
    # sweep appends one row per (status, signature), not one per job.
    """CREATE FUNCTION video_jobs_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO job_status_counts (status, provider, error_signature, delta)
      SELECT status, provider, CASE WHEN status = 'failed' THEN error_signature END, count(*)
      FROM new_rows GROUP BY 1, 2, 3;
  ELSE
    INSERT INTO job_status_counts (status, provider, error_signature, delta)
      SELECT status, provider, CASE WHEN status = 'failed' THEN error_signature END, -count(*)
      FROM old_rows GROUP BY 1, 2, 3;
  END IF;
  RETURN NULL;
END $$""",
    # UPDATE: row-level, and only when the key changes (the WHEN clause is checked without
    # calling the function, so progress and lease writes cost nothing extra).
    """CREATE FUNCTION video_jobs_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_counts (status, provider, error_signature, delta) VALUES
    (OLD.status, OLD.provider, CASE WHEN OLD.status = 'failed' THEN OLD.error_signature END, -1),
    (NEW.status, NEW.provider, CASE WHEN NEW.status = 'failed' THEN NEW.error_signature END, 1);
  RETURN NULL;
END $$""",
]
KEY_CHANGED = (  # {differ}: PostgreSQL's IS DISTINCT FROM, SQLite's IS NOT (both NULL-safe)
    "OLD.status {differ} NEW.status OR OLD.provider {differ} NEW.provider"
    " OR (NEW.status = 'failed' AND OLD.error_signature {differ} NEW.error_signature)"
)
PG_TRIGGERS = [
    """CREATE TRIGGER video_jobs_count_insert AFTER INSERT ON video_jobs
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION video_jobs_count_rows()""",
    """CREATE TRIGGER video_jobs_count_delete AFTER DELETE ON video_jobs
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION video_jobs_count_rows()""",
    f"""CREATE TRIGGER video_jobs_count_update AFTER UPDATE ON video_jobs
       FOR EACH ROW WHEN ({KEY_CHANGED.format(differ='IS DISTINCT FROM')})
       EXECUTE FUNCTION video_jobs_count_update()""",
]
SQLITE_KEY = "CASE WHEN {row}.status = 'failed' THEN {row}.error_signature END"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER video_jobs_count_insert AFTER INSERT ON video_jobs BEGIN
       INSERT INTO job_status_counts (status, provider, error_signature, delta)
       VALUES (NEW.status, NEW.provider, {SQLITE_KEY.format(row="NEW")}, 1); END""",
    f"""CREATE TRIGGER video_jobs_count_delete AFTER DELETE ON video_jobs BEGIN
       INSERT INTO job_status_counts (status, provider, error_signature, delta)
       VALUES (OLD.status, OLD.provider, {SQLITE_KEY.format(row="OLD")}, -1); END""",
    f"""CREATE TRIGGER video_jobs_count_update AFTER UPDATE OF status, error_signature
       ON video_jobs WHEN {KEY_CHANGED.format(differ='IS NOT')} BEGIN
       INSERT INTO job_status_counts (status, provider, error_signature, delta)
       VALUES (OLD.status, OLD.provider, {SQLITE_KEY.format(row="OLD")}, -1),
              (NEW.status, NEW.provider, {SQLITE_KEY.format(row="NEW")}, 1); END""",
]
FILL = (
    "INSERT INTO job_status_counts (status, provider, error_signature, delta)"
    " SELECT status, provider, CASE WHEN status = 'failed' THEN error_signature END, count(*)"
    " FROM video_jobs GROUP BY 1, 2, 3"
)


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "job_status_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("error_signature", sa.String(length=64), nullable=True),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_status_counts")),
    )
    if postgres:
        # No status change may slip between the fill and the triggers.
        op.execute("LOCK TABLE video_jobs IN SHARE MODE")
        for statement in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.execute(FILL)

    op.drop_index("ix_video_jobs_status_signature", table_name="video_jobs")
    op.create_index(
        "ix_video_jobs_failed_signature",
        "video_jobs",
        ["error_signature", "completed_at", "id"],
        postgresql_where=sa.text("status = 'failed'"),
        sqlite_where=sa.text("status = 'failed'"),
    )
    if postgres:
        # pg_trgm is a trusted extension: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_video_jobs_prompt_trgm",
            "video_jobs",
            ["prompt"],
            postgresql_using="gin",
            postgresql_ops={"prompt": "gin_trgm_ops"},
        )
        op.create_index(
            "ix_video_jobs_error_message_trgm",
            "video_jobs",
            ["error_message"],
            postgresql_using="gin",
            postgresql_ops={"error_message": "gin_trgm_ops"},
            postgresql_where=sa.text("error_message IS NOT NULL"),
        )


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_index("ix_video_jobs_error_message_trgm", table_name="video_jobs")
        op.drop_index("ix_video_jobs_prompt_trgm", table_name="video_jobs")
    op.drop_index("ix_video_jobs_failed_signature", table_name="video_jobs")
    op.create_index(
        "ix_video_jobs_status_signature", "video_jobs", ["status", "error_signature"]
    )
    for name in ("video_jobs_count_insert", "video_jobs_count_update", "video_jobs_count_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON video_jobs" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS video_jobs_count_rows()")
        op.execute("DROP FUNCTION IF EXISTS video_jobs_count_update()")
    op.drop_table("job_status_counts")
