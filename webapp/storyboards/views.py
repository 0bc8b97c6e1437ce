"""Job API: ``/v1/storyboards`` -- scenes as video jobs, compiled into one film."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request, send_file

from webapp.api.auth import require_client
from webapp.api.errors import ApiError, invalid
from webapp.api.idempotency import idempotent
from webapp.api.inputs import request_data
from webapp.jobs.params import (
    clean_text,
    parse_choice,
    parse_cursor,
    parse_limit,
    parse_metadata,
    parse_order,
    parse_provider,
    parse_seconds,
    reject_unknown,
)
from webapp.jobs.serializers import list_object
from webapp.storyboards import service
from webapp.storyboards.serializers import storyboard_object
from worker.providers import capabilities
from worker.storage import get_storage

bp = Blueprint("storyboards", __name__, url_prefix="/v1/storyboards")
FIELDS = frozenset(
    {"title", "provider", "model", "seconds", "size", "character", "style", "scenes", "metadata"}
)
MAX_SCENES = 20


def parse_storyboard(data) -> service.StoryboardInput:
    reject_unknown(data, FIELDS)
    provider = parse_provider(data.get("provider"), current_app.config["DEFAULT_PROVIDER"])
    caps = capabilities(provider)
    seconds = parse_seconds(data.get("seconds"), caps.seconds, caps.default_seconds)
    raw_scenes = data.get("scenes")
    if not isinstance(raw_scenes, list) or not 1 <= len(raw_scenes) <= MAX_SCENES:
        raise invalid(f"'scenes' must be a list of 1-{MAX_SCENES} scenes.", param="scenes")
    scenes = []
    for i, raw in enumerate(raw_scenes):
        raw = {"prompt": raw} if isinstance(raw, str) else raw
        if not isinstance(raw, dict):
            raise invalid("Each scene must be an object with a 'prompt'.", param=f"scenes[{i}]")
        reject_unknown(raw, frozenset({"prompt", "seconds"}))
        scenes.append(
            service.SceneInput(
                prompt=clean_text(raw.get("prompt"), f"scenes[{i}].prompt", max_chars=2000),
                seconds=parse_seconds(raw.get("seconds"), caps.seconds, seconds),
            )
        )
    style = data.get("style")
    if style not in (None, "") and (
        not isinstance(style, str) or style not in service.STYLE_PRESETS
    ):
        raise invalid(f"'style' must be one of: {', '.join(service.STYLE_PRESETS)}.", param="style")
    return service.StoryboardInput(
        title=clean_text(data.get("title"), "title", max_chars=200),
        provider=provider,
        model=parse_choice(data.get("model"), "model", caps.models, caps.default_model),
        seconds=seconds,
        size=parse_choice(data.get("size"), "size", caps.sizes, caps.default_size),
        scenes=scenes,
        character=clean_text(data.get("character"), "character", max_chars=1000, required=False),
        style=style or None,
        metadata=parse_metadata(data.get("metadata")),
    )


def owned(storyboard_id: str):
    board = service.get_storyboard(storyboard_id, client_id=g.client.id)
    if board is None:
        raise ApiError(
            404,
            f"No storyboard found with id '{storyboard_id}'.",
            code="storyboard_not_found",
            param="storyboard_id",
        )
    return board


@bp.post("")
@require_client
@idempotent
def create_storyboard():
    """Create a storyboard: one queued video job per scene, in one transaction."""
    board = service.create_storyboard(parse_storyboard(request_data()), client_id=g.client.id)
    return jsonify(storyboard_object(board)), 201


@bp.get("")
@require_client
def list_storyboards():
    rows, has_more = service.list_storyboards(
        client_id=g.client.id,
        after=parse_cursor(request.args.get("after"), "after", "storyboard"),
        limit=parse_limit(request.args.get("limit")),
        order=parse_order(request.args.get("order")),
    )
    return jsonify(list_object([storyboard_object(b) for b in rows], has_more))


@bp.get("/<storyboard_id>")
@require_client
def retrieve_storyboard(storyboard_id: str):
    """The storyboard with its scenes, aggregate status and progress."""
    return jsonify(storyboard_object(owned(storyboard_id)))


@bp.post("/<storyboard_id>/cancel")
@require_client
def cancel_storyboard(storyboard_id: str):
    owned(storyboard_id)
    board = service.cancel_storyboard(storyboard_id, client_id=g.client.id)
    return jsonify(storyboard_object(board))


@bp.get("/<storyboard_id>/content")
@require_client
def download_film(storyboard_id: str):
    """The compiled film (404 ``asset_not_ready`` until every scene is done and joined)."""
    board = owned(storyboard_id)
    if board.compile_status != "completed" or not board.compiled_path:
        raise ApiError(404, "The storyboard's film is not compiled yet.", code="asset_not_ready")
    path = get_storage().resolve(board.compiled_path)
    if not path.is_file():
        raise ApiError(404, "The stored film is gone (expired or deleted).", code="asset_not_found")
    return send_file(
        path,
        mimetype="video/mp4",
        conditional=True,
        max_age=0,
        download_name=f"{storyboard_id}.mp4",
    )
