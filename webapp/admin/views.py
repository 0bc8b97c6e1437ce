"""Admin API (``Authorization: Bearer $ADMIN_API_KEY``): queue stats and operator retry."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from webapp.admin import audit
from webapp.admin.auth import require_admin_key
from webapp.admin.queue_stats import collect
from webapp.jobs import service
from webapp.jobs.serializers import video_object

bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")


@bp.get("/queue")
@require_admin_key
def queue():
    """Per-queue broker counts, job counts by status, oldest queued age, workers, health."""
    return jsonify(collect().as_dict())


@bp.post("/queue/retry/<job_id>")
@require_admin_key
def retry(job_id: str):
    """Send a failed (or lease-expired) job back to the queue: same id, history kept."""
    try:
        job = service.retry_job(job_id)
    except LookupError:
        return jsonify({"error": f"No job {job_id}."}), 404
    except service.JobStateError as exc:
        return jsonify({"error": str(exc)}), 409
    audit.record("job.retry", actor="admin-api", target=job_id, ip=request.remote_addr)
    return jsonify({"retried": True, "job": video_object(job)})
