"""Job API: ``/v1/videos`` (OpenAI Videos shape)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request, send_file

from webapp.api.auth import require_client
from webapp.api.errors import ApiError
from webapp.api.idempotency import idempotent
from webapp.api.inputs import request_data
from webapp.jobs import service
from webapp.jobs.models import ALL_STATUSES, JobStatus
from webapp.jobs.params import parse_choice, parse_cursor, parse_limit, parse_order, parse_video
from webapp.jobs.serializers import list_object, video_object
from webapp.storyboards import service as storyboards
from worker.storage import VARIANTS, get_storage

bp = Blueprint("videos", __name__, url_prefix="/v1/videos")


def owned_job(video_id: str):
    job = service.get_job(video_id, client_id=g.client.id)
    if job is None:
        raise ApiError(
            404, f"No video found with id '{video_id}'.", code="video_not_found", param="video_id"
        )
    return job


@bp.post("")
@require_client
@idempotent
def create_video():
    """Create a video job; it is queued and generated in the background."""
    params = parse_video(request_data(), default_provider=current_app.config["DEFAULT_PROVIDER"])
    if (
        params.storyboard_id
        and storyboards.get_storyboard(params.storyboard_id, client_id=g.client.id) is None
    ):
        raise ApiError(
            404, "No such storyboard.", param="storyboard_id", code="storyboard_not_found"
        )
    job = service.submit_job(params, client_id=g.client.id)
    return jsonify(video_object(job)), 201


@bp.get("")
@require_client
def list_videos():
    """Keyset-paginated list of the client's videos."""
    args = request.args
    page = service.list_jobs(
        client_id=g.client.id,
        status=parse_choice(args.get("status"), "status", ALL_STATUSES, "") or None,
        storyboard_id=parse_cursor(args.get("storyboard_id"), "storyboard_id", "storyboard"),
        after=parse_cursor(args.get("after"), "after", "video"),
        limit=parse_limit(args.get("limit")),
        order=parse_order(args.get("order")),
    )
    return jsonify(list_object([video_object(j) for j in page.items], page.has_more))


@bp.get("/<video_id>")
@require_client
def retrieve_video(video_id: str):
    """One video job."""
    return jsonify(video_object(owned_job(video_id)))


@bp.delete("/<video_id>")
@require_client
def delete_video(video_id: str):
    """Delete the job and its files (a running attempt is abandoned)."""
    owned_job(video_id)
    service.delete_job(video_id, client_id=g.client.id)
    return jsonify({"id": video_id, "object": "video.deleted", "deleted": True})


@bp.post("/<video_id>/cancel")
@require_client
def cancel_video(video_id: str):
    """Cancel a queued or running job."""
    owned_job(video_id)
    try:
        job = service.cancel_job(video_id, client_id=g.client.id)
    except service.JobStateError as exc:
        raise ApiError(409, str(exc), code="video_not_cancellable") from None
    return jsonify(video_object(job))


@bp.get("/<video_id>/content")
@require_client
def download_content(video_id: str):
    """The stored MP4 or JPEG; supports HTTP range requests for ``<video>`` players."""
    job = owned_job(video_id)
    variant = parse_choice(request.args.get("variant"), "variant", tuple(VARIANTS), "video")
    relative = job.video_path if variant == "video" else job.thumbnail_path
    if job.status != JobStatus.COMPLETED or not relative:
        raise ApiError(
            404, f"The video is {job.status}; its content is not ready.", code="asset_not_ready"
        )
    path = get_storage().resolve(relative)
    if not path.is_file():
        raise ApiError(404, "The stored file is gone (expired or deleted).", code="asset_not_found")
    return send_file(
        path,
        mimetype=VARIANTS[variant][1],
        conditional=True,
        download_name=f"{video_id}{path.suffix}",
        max_age=0,
    )
