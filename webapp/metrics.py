"""Prometheus ``/metrics`` on the web app (admin key required).

Job and queue figures are read from the database and the broker at scrape time by a custom
collector, so they are right whatever process did the work (web, worker, embedded). Request
latency is measured in this process (with ``PROMETHEUS_MULTIPROC_DIR`` set, across all gunicorn
workers, per prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import select

from webapp.admin.auth import require_admin_key
from webapp.extensions import db
from webapp.jobs.counts import count_by_status_and_provider
from webapp.jobs.models import JobStatus, VideoJob
from webapp.timeutil import utcnow

bp = Blueprint("metrics", __name__)
DURATION_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)

REQUEST_LATENCY = Histogram(
    "reelqueue_http_request_duration_seconds",
    "Web request latency by endpoint, method and status.",
    ["endpoint", "method", "status"],
)


class JobCollector:
    """Job counts by status/provider, queue depth and job durations, read at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        with self.app.app_context():
            yield from self._jobs()
            yield from self._durations()
            yield from self._queues()

    def _jobs(self):
        totals = CounterMetricFamily(
            "reelqueue_jobs",
            "Jobs ever created and still stored, by final status and provider.",
            labels=["status", "provider"],
        )
        current = GaugeMetricFamily(
            "reelqueue_jobs_current",
            "Jobs by status and provider now.",
            labels=["status", "provider"],
        )
        for (status, provider), count in count_by_status_and_provider().items():
            current.add_metric([status, provider], count)
            if status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
                totals.add_metric([status, provider], count)
        yield totals
        yield current

    def _durations(self):
        since = utcnow().timestamp() - 3600
        from datetime import UTC, datetime

        rows = db.session.execute(
            select(VideoJob.provider, VideoJob.started_at, VideoJob.completed_at).where(
                VideoJob.status == JobStatus.COMPLETED,
                VideoJob.completed_at >= datetime.fromtimestamp(since, UTC),
            )
        ).all()
        by_provider: dict[str, list[float]] = {}
        for provider, started, completed in rows:
            if started and completed:
                by_provider.setdefault(provider, []).append((completed - started).total_seconds())
        family = HistogramMetricFamily(
            "reelqueue_job_duration_seconds",
            "Start-to-completion time of jobs completed in the last hour.",
            labels=["provider"],
        )
        for provider, values in by_provider.items():
            buckets = [(str(b), sum(1 for v in values if v <= b)) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", len(values)))
            family.add_metric([provider], buckets, sum_value=sum(values))
        yield family

    def _queues(self):
        from webapp.admin.queue_stats import collect

        stats = collect()
        depth = GaugeMetricFamily(
            "reelqueue_queue_messages",
            "Broker messages by queue and state.",
            labels=["queue", "state"],
        )
        for queue in stats.queues:
            for state in ("waiting", "delayed", "in_flight", "dead_lettered"):
                depth.add_metric([queue.name, state], getattr(queue, state))
        yield depth
        workers = GaugeMetricFamily("reelqueue_workers", "Workers with a fresh heartbeat.")
        workers.add_metric([], len(stats.workers))
        yield workers
        oldest = GaugeMetricFamily(
            "reelqueue_oldest_queued_seconds", "Age of the oldest queued job."
        )
        oldest.add_metric([], stats.oldest_queued_age_seconds or 0)
        yield oldest


@bp.get("/metrics")
@require_admin_key
def metrics():
    """Prometheus text format."""
    registry = CollectorRegistry()
    registry.register(JobCollector(current_app._get_current_object()))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(registry) + generate_latest(REGISTRY)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.get("request_started")
        if started is not None and request.endpoint != "metrics.metrics":
            REQUEST_LATENCY.labels(
                request.endpoint or "unknown", request.method, str(response.status_code)
            ).observe(time.perf_counter() - started)
        return response
