"""Bulk-seed a migrated PostgreSQL database with a realistic job history, with COPY.

Jobs are spread over the last 7 days (the retention window) with time-sortable ids like the
app makes; the newest 2 % are still queued or running, the rest are final: about 5 % failed
(each with an error context holding a stack trace in ``metadata.error``, 1-3 ``job_attempts``
rows, and ``error_signature`` computed by :func:`webapp.jobs.signatures.error_signature`),
1.5 % cancelled, the rest completed. Secondary indexes are dropped during the load and
rebuilt from their own definitions; then ``VACUUM ANALYZE``, like a database that autovacuum
has kept up with.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from webapp.ids import sortable_id
from webapp.jobs.signatures import error_signature

RETENTION_SECONDS = 7 * 86400
CLIENTS = 5
COMMON_WORD = "river"  # in ~3 % of prompts
RARE_WORD = "zeppelin"  # in ~0.01 % of prompts

ADJECTIVES = [
    *("misty", "golden", "quiet", "neon", "rainy", "frozen", "sunlit", "ancient", "tiny"),
    *("giant", "paper", "glass", "velvet", "electric", "hollow", "crimson", "silver"),
    *("lonely", "busy", "floating"),
]
SUBJECTS = [
    "paper boat",
    "red fox",
    "lighthouse keeper",
    "city tram",
    "hot air balloon",
    "koi pond",
    "robot gardener",
    "old bicycle",
    "snow leopard",
    "street market",
    "jazz trio",
    "origami crane",
    "steam train",
    "desert caravan",
    "kite festival",
    "coral reef",
    "night bus",
    "tea ceremony",
    "clock tower",
    "sailing ship",
    "wind turbine",
    "owl",
    "violinist",
    "vineyard",
    "ice skater",
    "windmill",
    "bonsai tree",
    "whale",
    "snail",
]
ACTIONS = [
    "drifting slowly",
    "spinning gently",
    "racing past",
    "waking up",
    "glowing softly",
    "falling apart",
    "dancing",
    "crossing",
    "hovering",
    "unfolding",
    "sleeping",
    "casting long shadows",
    "reflecting the sky",
    "coming home",
    "chasing the wind",
]
PLACES = [
    "along a river",
    "over rooftops",
    "in a bamboo forest",
    "on a frozen lake",
    "at dawn",
    "under neon signs",
    "in the rain",
    "through fog",
    "at the edge of the sea",
    "inside a snow globe",
    "on the moon",
    "between skyscrapers",
    "in a wheat field",
    "on a mountain pass",
    "in an old library",
    "at golden hour",
    "beneath the aurora",
    "across the desert",
    "in a quiet harbour",
    "on a busy street",
    "in a greenhouse",
    "on a rooftop garden",
    "in a subway station",
    "over a waterfall",
    "at midnight",
    "in a lavender field",
    "by a campfire",
    "in a glass house",
    "on a pier",
    "in a canyon",
]
STYLES = [
    "cinematic",
    "35mm film",
    "watercolor",
    "stop-motion",
    "anime",
    "documentary",
    "noir",
    "tilt-shift",
    "isometric",
    "claymation",
    "pastel",
    "long exposure",
]

STACK = """Traceback (most recent call last):
  File "/app/worker/pipeline.py", line 118, in run_job
    assets = provider.generate(spec, ctx, workdir)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/worker/providers/base.py", line 151, in generate
    state = self.status(provider_job_id)
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/worker/providers/openai_compat.py", line 142, in status
    response = self._request("GET", f"/videos/{{provider_job_id}}")
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/worker/providers/openai_compat.py", line 97, in _request
    raise self._error(response)
  File "/app/.venv/lib/python3.11/site-packages/httpx/_models.py", line 829, in raise_for_status
    raise HTTPStatusError(message, request=request, response=self)
{name}: {message}
"""

# (weight, name, code, retryable, message template)
ERRORS = [
    (
        30,
        "ProviderError",
        "server_error",
        True,
        "Provider returned HTTP 503 for job {job} after {f}s",
    ),
    (20, "ProviderError", "rate_limited", True, "Rate limited by provider (429); retry after {n}s"),
    (
        12,
        "ProviderError",
        "content_policy_violation",
        False,
        "Prompt rejected by content policy: '{word}'",
    ),
    (
        10,
        "TimeLimitExceeded",
        "time_limit_exceeded",
        True,
        "Job exceeded its time limit of {n}000ms",
    ),
    (
        8,
        "WorkerLost",
        "worker_lost",
        True,
        "The worker running this attempt stopped before finishing it "
        "(killed, out of memory, or shut down).",
    ),
    (7, "ConnectionError", "timeout", True, "Connection to 10.0.{n}.{n}:443 timed out after {n}s"),
    (5, "KeyError", "internal_error", False, "'frame_{n}'"),
    (
        4,
        "OSError",
        "internal_error",
        False,
        "[Errno 28] No space left on device: '/var/media/.work/tmp{hex}'",
    ),
    (4, "ValueError", "internal_error", False, "unexpected token {word} in scene {n} description"),
]
WORDS = [w for s in SUBJECTS for w in s.split()] + ADJECTIVES + [w.split()[-1] for w in PLACES]


@dataclass
class Seeded:
    jobs: int
    failed: int
    attempts: int
    seconds: float
    deep_after: str  # an id 90 % of the rows deep from the newest (for ``after=``)
    rare_matches: int
    common_word: str = COMMON_WORD
    rare_word: str = RARE_WORD


def _esc(text: str) -> str:
    """COPY text-format escaping."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(sep=" ")


def _prompt(rng: random.Random) -> str:
    text = (
        f"{rng.choice(ADJECTIVES)} {rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} "
        f"{rng.choice(PLACES)}, {rng.choice(STYLES)}"
    )
    if rng.random() < 0.0001:
        text += f", a {RARE_WORD} overhead"
    if rng.random() < 0.3:
        text += ", with soft ambient light and slow camera movement"
    return text


def _error(rng: random.Random, job_id: str):
    weights = [e[0] for e in ERRORS]
    _, name, code, retryable, template = rng.choices(ERRORS, weights)[0]
    message = template.format(
        job=job_id,
        f=f"{rng.uniform(1, 60):.1f}",
        n=rng.randint(1, 999),
        word=rng.choice(WORDS),
        hex=f"{rng.getrandbits(40):010x}",
    )
    return name, code, retryable, message


def seed(url: str, n: int, *, rng_seed: int = 7, now: float | None = None) -> Seeded:
    """Load ``n`` jobs into the (migrated, empty) database at ``url``."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    now = now or time.time()
    first = now - RETENTION_SECONDS
    created = sorted(rng.uniform(first, now - 1) for _ in range(n))
    active_from = int(n * 0.98)  # the newest 2 % are not final yet
    failed = attempts = rare = 0
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename IN ('video_jobs', 'job_attempts') AND indexname NOT LIKE 'pk_%'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET session_replication_role = replica")  # FK checks off: rows are consistent
        with conn.cursor().copy(
            "COPY api_clients (id, name, key_prefix, key_hash, created_at) FROM STDIN"
        ) as copy:
            for i in range(1, CLIENTS + 1):
                copy.write_row(
                    (i, f"client-{i}", f"rq_bench{i}", f"{rng.getrandbits(256):064x}", _ts(first))
                )
        conn.execute("SELECT setval('api_clients_id_seq', %s)", (CLIENTS,))
        job_columns = (
            "id, client_id, prompt, provider, model, seconds, size, status, progress, attempts,"
            " max_attempts, error_code, error_message, error_signature, metadata,"
            " client_metadata, lease_owner, lease_expires_at, dispatched_at, message_id,"
            " created_at, started_at, completed_at, updated_at, expires_at, video_path,"
            " thumbnail_path"
        )
        attempt_rows: list[str] = []
        ids: list[str] = []
        with conn.cursor().copy(f"COPY video_jobs ({job_columns}) FROM STDIN") as copy:
            chunk: list[str] = []
            for index, created_at in enumerate(created):
                job_id = "video_" + sortable_id(int(created_at * 1000))
                ids.append(job_id)
                prompt = _prompt(rng)
                rare += RARE_WORD in prompt
                client = str(rng.randint(1, CLIENTS))
                dispatched = _ts(created_at + 0.01)
                message_id = f"{rng.getrandbits(128):032x}"
                started_at = created_at + rng.uniform(0.1, 30)
                finished = started_at + rng.uniform(3, 40)
                status, progress, tries = "completed", 100, 1
                err_code = err_msg = sig = lease_owner = lease_exp = r"\N"
                started_s, completed_s, expires_s = _ts(started_at), r"\N", r"\N"
                video = thumb = r"\N"
                meta = "{}"
                if index >= active_from:
                    if rng.random() < 0.1:
                        status, progress = "in_progress", rng.randint(0, 99)
                        lease_owner = f"worker-{rng.randint(1, 4)}:{rng.randint(100, 999)}"
                        lease_exp = _ts(now + 120)
                    else:
                        status, progress, tries, started_s = "queued", 0, 0, r"\N"
                else:
                    roll = rng.random()
                    completed_s = _ts(finished)
                    if roll < 0.05:
                        status, progress = "failed", rng.randint(0, 90)
                        name, code, retryable, message = _error(rng, job_id)
                        tries = rng.randint(1, 3) if retryable else 1
                        failed += 1
                        err_code, err_msg = code, _esc(message)
                        sig = error_signature(name, code, message)
                        stack = STACK.format(name=name, message=message)
                        context = {
                            "name": name,
                            "message": message,
                            "stack": stack,
                            "code": code,
                            "timestamp": _ts(finished),
                            "attemptsMade": tries,
                            "provider": "openai",
                        }
                        meta = _esc(json.dumps({"error": context}))
                        for attempt in range(1, tries + 1):
                            attempts += 1
                            attempt_rows.append(
                                "\t".join(
                                    (
                                        job_id,
                                        str(attempt),
                                        name,
                                        _esc(message),
                                        _esc(stack),
                                        code,
                                        "openai",
                                        "t" if retryable else "f",
                                        f"worker-{attempt}:{rng.randint(100, 999)}",
                                        _ts(finished - (tries - attempt) * 10),
                                    )
                                )
                            )
                    elif roll < 0.065:
                        status, progress = "cancelled", rng.randint(0, 99)
                    else:
                        expires_s = _ts(finished + RETENTION_SECONDS)
                        video = f"jobs/{job_id}/video.mp4"
                        thumb = f"jobs/{job_id}/thumbnail.jpg"
                provider = "openai" if status == "failed" else rng.choice(("local", "openai"))
                chunk.append(
                    "\t".join(
                        (
                            job_id,
                            client,
                            _esc(prompt),
                            provider,
                            "sora-2",
                            "4",
                            "1280x720",
                            status,
                            str(progress),
                            str(tries),
                            "3",
                            err_code,
                            err_msg,
                            sig,
                            meta,
                            "{}",
                            lease_owner,
                            lease_exp,
                            dispatched,
                            message_id,
                            _ts(created_at),
                            started_s,
                            completed_s,
                            completed_s if completed_s != r"\N" else _ts(created_at),
                            expires_s,
                            video,
                            thumb,
                        )
                    )
                )
                if len(chunk) >= 5000:
                    copy.write("\n".join(chunk) + "\n")
                    chunk.clear()
            if chunk:
                copy.write("\n".join(chunk) + "\n")
        with conn.cursor().copy(
            "COPY job_attempts (job_id, attempt, name, message, stack, code, provider,"
            " retryable, worker, timestamp) FROM STDIN"
        ) as copy:
            for start in range(0, len(attempt_rows), 5000):
                copy.write("\n".join(attempt_rows[start : start + 5000]) + "\n")
        conn.execute("SET session_replication_role = origin")
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM ANALYZE video_jobs")
        conn.execute("VACUUM ANALYZE job_attempts")
        conn.execute("ANALYZE api_clients")
    deep = ids[len(ids) - 1 - int(len(ids) * 0.9)]
    return Seeded(n, failed, attempts, time.perf_counter() - started, deep, rare)
