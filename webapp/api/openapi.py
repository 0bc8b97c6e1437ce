"""The OpenAPI 3.1 document of the job API, served at ``GET /v1/openapi.json`` (public).

Built in Python from the same limits the validators use (``webapp.jobs.params``, the
storyboard and webhook views) and from each provider's capability table, so the document
cannot drift from what the API accepts. Request schemas describe what is accepted; response
schemas describe every field the serializers emit (``additionalProperties: false``), so a
new field without a documentation change is caught by the schema fuzz tests.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from webapp.jobs.models import ALL_STATUSES
from webapp.jobs.params import (
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_PROMPT_CHARS,
)
from webapp.storyboards.views import MAX_SCENES
from worker.providers import capabilities, provider_names

bp = Blueprint("openapi", __name__, url_prefix="/v1")

JSON = "application/json"
MULTIPART = "multipart/form-data"
# A string with at least one non-blank character and no NUL (what ``clean_text`` accepts).
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
NO_NUL_PATTERN = r"^[^\x00]*$"
# limits written inline in the views and parsers (storyboards.views, jobs.params.parse_*)
MAX_SCENE_PROMPT_CHARS = 2000
MAX_TITLE_CHARS = 200
MAX_CHARACTER_CHARS = 1000
MAX_STORYBOARD_ID_CHARS = 48
MAX_CURSOR_CHARS = 64
MAX_LIMIT = 100
MAX_URL_CHARS = 2048
COMPILE_STATUSES = ("queued", "running", "completed", "failed")
# http(s), a host name or address, an optional port, then anything without blanks or NUL
URL_PATTERN = r"^[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\s\x00]*)?$"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def text(max_chars: int, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": 1,
        "maxLength": max_chars,
        "pattern": TEXT_PATTERN,
    }
    if description:
        schema["description"] = description
    return schema


def id_schema(prefix: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{prefix}_[0-9a-z]{{26}}$"}


def cursor(prefix: str, description: str) -> dict[str, Any]:
    """What ``parse_cursor`` accepts: ``<prefix>_`` then ASCII, at most 64 characters."""
    return {
        "type": "string",
        "pattern": f"^{prefix}_[\\x00-\\x7f]*$",
        "maxLength": MAX_CURSOR_CHARS,
        "description": description,
    }


def metadata_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Client-owned key/value pairs, returned unchanged.",
        "maxProperties": MAX_METADATA_KEYS,
        "propertyNames": {
            "minLength": 1,
            "maxLength": MAX_METADATA_KEY_CHARS,
            "pattern": NO_NUL_PATTERN,
        },
        "additionalProperties": {
            "type": "string",
            "maxLength": MAX_METADATA_VALUE_CHARS,
            "pattern": NO_NUL_PATTERN,
        },
    }


def seconds_enum(values: tuple[int, ...]) -> dict[str, Any]:
    """Seconds are sent as strings by the SDK (``"4"``); whole numbers are accepted too."""
    return {"enum": [str(s) for s in values] + list(values)}


def provider_options(default_provider: str, *, form: bool = False) -> list[dict[str, Any]]:
    """One alternative per provider: model, seconds and size must come from its table.

    The default provider's alternative also matches a request without ``provider``.
    """
    options = []
    for name in provider_names():
        caps = capabilities(name)
        seconds = (
            {"type": "string", "enum": [str(s) for s in caps.seconds]}
            if form
            else seconds_enum(caps.seconds)
        )
        options.append(
            {
                "title": f"provider {name}",
                "properties": {
                    "provider": {"type": "string", "const": name},
                    "model": {"type": "string", "enum": list(caps.models)},
                    "seconds": seconds,
                    "size": {"type": "string", "enum": list(caps.sizes)},
                },
                "required": [] if name == default_provider else ["provider"],
            }
        )
    return options


def all_values(attribute: str) -> list[Any]:
    seen: list[Any] = []
    for name in provider_names():
        for value in getattr(capabilities(name), attribute):
            if value not in seen:
                seen.append(value)
    return seen


def create_video_json(default_provider: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["prompt"],
        "additionalProperties": False,
        "properties": {
            "prompt": text(MAX_PROMPT_CHARS, "What the video shows (surrounding blanks dropped)."),
            "model": {"type": "string"},
            "seconds": {"type": ["string", "integer"]},
            "size": {"type": "string"},
            "provider": {"type": "string", "enum": list(provider_names())},
            "storyboard_id": text(MAX_STORYBOARD_ID_CHARS, "Attach to one of your storyboards."),
            "metadata": metadata_schema(),
        },
        "oneOf": provider_options(default_provider),
    }


def create_video_form(default_provider: str) -> dict[str, Any]:
    """The openai SDK's multipart encoding: plain fields and ``metadata[key]=value`` pairs."""
    return {
        "type": "object",
        "required": ["prompt"],
        "maxProperties": 7,
        "properties": {
            "prompt": text(MAX_PROMPT_CHARS),
            "model": {"type": "string"},
            "seconds": {"type": "string"},
            "size": {"type": "string"},
            "provider": {"type": "string", "enum": list(provider_names())},
            "storyboard_id": text(MAX_STORYBOARD_ID_CHARS),
        },
        "patternProperties": {
            f"^metadata\\[[^\\x00\\]]{{1,{MAX_METADATA_KEY_CHARS}}}\\]$": {
                "type": "string",
                "maxLength": MAX_METADATA_VALUE_CHARS,
                "pattern": NO_NUL_PATTERN,
            }
        },
        "additionalProperties": False,
        "oneOf": provider_options(default_provider, form=True),
    }


def create_storyboard_json(default_provider: str) -> dict[str, Any]:
    from webapp.storyboards.service import STYLE_PRESETS

    scene = {
        "anyOf": [
            text(MAX_SCENE_PROMPT_CHARS),
            {
                "type": "object",
                "required": ["prompt"],
                "additionalProperties": False,
                "properties": {
                    "prompt": text(MAX_SCENE_PROMPT_CHARS),
                    "seconds": {"type": ["string", "integer"]},
                },
            },
        ]
    }
    options = provider_options(default_provider)
    for option in options:
        # a scene's own seconds must also come from the provider's table
        option["properties"]["scenes"] = {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "properties": {"seconds": option["properties"]["seconds"]},
                    },
                ]
            },
        }
    return {
        "type": "object",
        "required": ["title", "scenes"],
        "additionalProperties": False,
        "properties": {
            "title": text(MAX_TITLE_CHARS),
            "provider": {"type": "string", "enum": list(provider_names())},
            "model": {"type": "string"},
            "seconds": {"type": ["string", "integer"]},
            "size": {"type": "string"},
            "character": text(MAX_CHARACTER_CHARS, "Described in every scene's prompt."),
            "style": {"type": "string", "enum": list(STYLE_PRESETS)},
            "scenes": {"type": "array", "minItems": 1, "maxItems": MAX_SCENES, "items": scene},
            "metadata": metadata_schema(),
        },
        "oneOf": options,
    }


def create_webhook_json() -> dict[str, Any]:
    from webapp.webhooks.events import EVENT_TYPES

    return {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {
                "type": "string",
                "maxLength": MAX_URL_CHARS,
                "pattern": URL_PATTERN,
                "description": "http(s) URL without credentials; in production it must "
                "resolve to public addresses only.",
            },
            "event_types": {
                "type": "array",
                "items": {"type": "string", "enum": list(EVENT_TYPES)},
                "description": "Default: every event type.",
            },
        },
    }


def video_schema() -> dict[str, Any]:
    timestamp = {"type": "integer", "description": "Unix seconds."}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "id",
            "object",
            "status",
            "progress",
            "model",
            "provider",
            "seconds",
            "size",
            "prompt",
            "storyboard_id",
            "scene_index",
            "created_at",
            "started_at",
            "completed_at",
            "expires_at",
            "error",
            "attempts",
            "metadata",
            "remixed_from_video_id",
        ],
        "properties": {
            "id": id_schema("video"),
            "object": {"const": "video"},
            "status": {"type": "string", "enum": list(ALL_STATUSES)},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "model": {"type": "string", "enum": all_values("models")},
            "provider": {"type": "string", "enum": list(provider_names())},
            "seconds": {"type": "string", "enum": [str(s) for s in all_values("seconds")]},
            "size": {"type": "string", "enum": all_values("sizes")},
            "prompt": {"type": "string"},
            "storyboard_id": nullable(id_schema("storyboard")),
            "scene_index": nullable({"type": "integer", "minimum": 0}),
            "created_at": timestamp,
            "started_at": nullable(timestamp),
            "completed_at": nullable(timestamp),
            "expires_at": nullable(timestamp),
            "error": nullable(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            ),
            "attempts": {"type": "integer", "minimum": 0},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "remixed_from_video_id": {"type": "null"},
        },
    }


def storyboard_schema() -> dict[str, Any]:
    from webapp.storyboards.service import STYLE_PRESETS

    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "id",
            "object",
            "title",
            "status",
            "progress",
            "counts",
            "provider",
            "model",
            "seconds",
            "size",
            "character",
            "style",
            "metadata",
            "compile",
            "created_at",
            "completed_at",
            "scenes",
        ],
        "properties": {
            "id": id_schema("storyboard"),
            "object": {"const": "storyboard"},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": list(ALL_STATUSES)},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "counts": {
                "type": "object",
                "additionalProperties": False,
                "required": list(ALL_STATUSES),
                "properties": {s: {"type": "integer", "minimum": 0} for s in ALL_STATUSES},
            },
            "provider": {"type": "string", "enum": list(provider_names())},
            "model": {"type": "string", "enum": all_values("models")},
            "seconds": {"type": "string", "enum": [str(s) for s in all_values("seconds")]},
            "size": {"type": "string", "enum": all_values("sizes")},
            "character": nullable({"type": "string"}),
            "style": nullable({"type": "string", "enum": list(STYLE_PRESETS)}),
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "compile": {
                "type": "object",
                "additionalProperties": False,
                "required": ["status", "error"],
                "properties": {
                    "status": nullable({"type": "string", "enum": list(COMPILE_STATUSES)}),
                    "error": nullable({"type": "string"}),
                },
            },
            "created_at": {"type": "integer"},
            "completed_at": nullable({"type": "integer"}),
            "scenes": {"type": "array", "items": ref("Video")},
        },
    }


def webhook_endpoint_schema(*, with_secret: bool) -> dict[str, Any]:
    from webapp.webhooks.events import EVENT_TYPES

    properties: dict[str, Any] = {
        "id": id_schema("we"),
        "object": {"const": "webhook_endpoint"},
        "url": {"type": "string"},
        "event_types": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
        "created_at": {"type": "integer"},
        "disabled": {"type": "boolean"},
        "disabled_reason": nullable({"type": "string"}),
    }
    required = list(properties)
    if with_secret:
        properties["secret"] = {
            "type": "string",
            "pattern": "^whsec_",
            "description": "The signing secret (Standard Webhooks); shown in this response only.",
        }
        required.append("secret")
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def list_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["object", "data", "first_id", "last_id", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": ref(item)},
            "first_id": nullable({"type": "string"}),
            "last_id": nullable({"type": "string"}),
            "has_more": {"type": "boolean"},
        },
    }


def deleted_schema(object_name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "object", "deleted"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": object_name},
            "deleted": {"const": True},
        },
    }


def error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "code", "message", "param", "request_id"],
                "properties": {
                    "type": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "param": nullable({"type": "string"}),
                    "request_id": nullable({"type": "string"}),
                },
            }
        },
    }


ERROR_DESCRIPTIONS = {
    "400": "Invalid request (``invalid_request_error``, naming ``param``).",
    "401": "Missing, invalid or revoked API key.",
    "404": "Not found, or owned by another client.",
    "409": "Conflict with the object's state, or an Idempotency-Key still in progress.",
    "413": "Request body larger than MAX_REQUEST_BYTES.",
    "415": "Body is neither JSON nor a form.",
    "422": "Idempotency-Key reused with a different request.",
    "503": "The database is unavailable (``Retry-After``).",
}


def errors(*codes: str) -> dict[str, Any]:
    """The error responses of an operation: 401 and 503 everywhere, plus ``codes``."""
    return {code: {"$ref": f"#/components/responses/{code}"} for code in ("401", "503", *codes)}


def ok(status: str, schema: str, description: str) -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
            "content": {JSON: {"schema": ref(schema)}},
        }
    }


def binary(media_type: str, description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        },
        "206": {
            "description": "Partial content (``Range``).",
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        },
        "304": {"description": "Not modified (conditional request)."},
        "416": {"description": "Range not satisfiable."},
    }


REQUEST_ID = {"$ref": "#/components/parameters/XRequestId"}
IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}


def path_id(name: str, prefix: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": f"^{prefix}_[0-9a-z]{{26}}$"},
    }


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def page_parameters(prefix: str) -> list[dict[str, Any]]:
    return [
        query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
            "Page size.",
        ),
        query("after", cursor(prefix, "The last id of the previous page.")),
        query("order", {"type": "string", "enum": ["desc", "asc"], "default": "desc"}),
    ]


def build_document(default_provider: str = "local") -> dict[str, Any]:
    """The whole OpenAPI document (a fresh dict each call)."""
    video_id = path_id("video_id", "video")
    storyboard_id = path_id("storyboard_id", "storyboard")
    endpoint_id = path_id("endpoint_id", "we")
    created = "Created; queued for generation."
    paths: dict[str, Any] = {
        "/v1/videos": {
            "post": {
                "operationId": "createVideo",
                "summary": "Create a video job",
                "tags": ["videos"],
                "parameters": [IDEMPOTENCY_KEY, REQUEST_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {"schema": ref("CreateVideoRequest")},
                        MULTIPART: {"schema": ref("CreateVideoForm")},
                    },
                },
                "responses": {
                    **ok("201", "Video", created),
                    **errors("400", "404", "409", "413", "415", "422"),
                },
            },
            "get": {
                "operationId": "listVideos",
                "summary": "List your videos (keyset pages, newest first by default)",
                "tags": ["videos"],
                "parameters": [
                    *page_parameters("video"),
                    query("status", {"type": "string", "enum": list(ALL_STATUSES)}),
                    query("storyboard_id", cursor("storyboard", "Only this storyboard's scenes.")),
                    REQUEST_ID,
                ],
                "responses": {**ok("200", "VideoList", "A page of videos."), **errors("400")},
            },
        },
        "/v1/videos/{video_id}": {
            "parameters": [video_id],
            "get": {
                "operationId": "retrieveVideo",
                "summary": "Retrieve a video",
                "tags": ["videos"],
                "parameters": [REQUEST_ID],
                "responses": {**ok("200", "Video", "The video."), **errors("404")},
            },
            "delete": {
                "operationId": "deleteVideo",
                "summary": "Delete a video and its files",
                "tags": ["videos"],
                "parameters": [REQUEST_ID],
                "responses": {**ok("200", "VideoDeleted", "Deleted."), **errors("404")},
            },
        },
        "/v1/videos/{video_id}/cancel": {
            "parameters": [video_id],
            "post": {
                "operationId": "cancelVideo",
                "summary": "Cancel a queued or running video",
                "tags": ["videos"],
                "parameters": [REQUEST_ID],
                "responses": {**ok("200", "Video", "The cancelled video."), **errors("404", "409")},
            },
        },
        "/v1/videos/{video_id}/content": {
            "parameters": [video_id],
            "get": {
                "operationId": "downloadVideoContent",
                "summary": "Download the MP4 or its JPEG thumbnail",
                "tags": ["videos"],
                "parameters": [
                    query(
                        "variant",
                        {"type": "string", "enum": ["video", "thumbnail"], "default": "video"},
                    ),
                    REQUEST_ID,
                ],
                "responses": {
                    **binary("video/mp4", "The MP4 (``variant=video``)."),
                    **errors("400", "404"),
                },
            },
        },
        "/v1/storyboards": {
            "post": {
                "operationId": "createStoryboard",
                "summary": "Create a storyboard: one queued video per scene",
                "tags": ["storyboards"],
                "parameters": [IDEMPOTENCY_KEY, REQUEST_ID],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("CreateStoryboardRequest")}},
                },
                "responses": {
                    **ok("201", "Storyboard", created),
                    **errors("400", "409", "413", "415", "422"),
                },
            },
            "get": {
                "operationId": "listStoryboards",
                "summary": "List your storyboards",
                "tags": ["storyboards"],
                "parameters": [*page_parameters("storyboard"), REQUEST_ID],
                "responses": {
                    **ok("200", "StoryboardList", "A page of storyboards."),
                    **errors("400"),
                },
            },
        },
        "/v1/storyboards/{storyboard_id}": {
            "parameters": [storyboard_id],
            "get": {
                "operationId": "retrieveStoryboard",
                "summary": "Retrieve a storyboard with its scenes",
                "tags": ["storyboards"],
                "parameters": [REQUEST_ID],
                "responses": {**ok("200", "Storyboard", "The storyboard."), **errors("404")},
            },
        },
        "/v1/storyboards/{storyboard_id}/cancel": {
            "parameters": [storyboard_id],
            "post": {
                "operationId": "cancelStoryboard",
                "summary": "Cancel every queued or running scene",
                "tags": ["storyboards"],
                "parameters": [REQUEST_ID],
                "responses": {**ok("200", "Storyboard", "The storyboard."), **errors("404")},
            },
        },
        "/v1/storyboards/{storyboard_id}/content": {
            "parameters": [storyboard_id],
            "get": {
                "operationId": "downloadStoryboardContent",
                "summary": "Download the compiled film",
                "tags": ["storyboards"],
                "parameters": [REQUEST_ID],
                "responses": {**binary("video/mp4", "The compiled MP4."), **errors("404")},
            },
        },
        "/v1/webhook_endpoints": {
            "post": {
                "operationId": "createWebhookEndpoint",
                "summary": "Register a webhook endpoint",
                "tags": ["webhooks"],
                "parameters": [REQUEST_ID],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("CreateWebhookEndpointRequest")}},
                },
                "responses": {
                    **ok("201", "WebhookEndpointWithSecret", "Created."),
                    **errors("400", "413", "415"),
                },
            },
            "get": {
                "operationId": "listWebhookEndpoints",
                "summary": "List your webhook endpoints",
                "tags": ["webhooks"],
                "parameters": [REQUEST_ID],
                "responses": {**ok("200", "WebhookEndpointList", "Every endpoint.")},
            },
        },
        "/v1/webhook_endpoints/{endpoint_id}": {
            "parameters": [endpoint_id],
            "delete": {
                "operationId": "deleteWebhookEndpoint",
                "summary": "Delete a webhook endpoint",
                "tags": ["webhooks"],
                "parameters": [REQUEST_ID],
                "responses": {
                    **ok("200", "WebhookEndpointDeleted", "Deleted."),
                    **errors("404"),
                },
            },
        },
    }
    paths["/v1/webhook_endpoints"]["get"]["responses"].update(errors())
    # the thumbnail variant is a JPEG
    content = paths["/v1/videos/{video_id}/content"]["get"]["responses"]
    for status in ("200", "206"):
        content[status]["content"]["image/jpeg"] = {
            "schema": {"type": "string", "format": "binary"}
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Reelqueue job API",
            "version": "1.0.0",
            "description": "Text prompts in, video files out, through background jobs. Shaped "
            "like the OpenAI Videos API. Clients see only their own objects (others' are 404).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "videos"}, {"name": "storyboards"}, {"name": "webhooks"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API client key (``rq_…``).",
                }
            },
            "parameters": {
                "XRequestId": {
                    "name": "X-Request-Id",
                    "in": "header",
                    "required": False,
                    "description": "Echoed back when it matches ``[A-Za-z0-9._:-]{1,128}``; "
                    "otherwise a new id is made.",
                    "schema": {"type": "string", "maxLength": 256},
                },
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Replays the first response for the same request; 422 "
                    "for another request, 409 while the first is still running.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                },
            },
            "headers": {
                "X-Request-Id": {
                    "description": "The request id (also in error bodies).",
                    "schema": {"type": "string"},
                }
            },
            "responses": {
                code: {
                    "description": description,
                    "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
                    "content": {JSON: {"schema": ref("Error")}},
                }
                for code, description in ERROR_DESCRIPTIONS.items()
            },
            "schemas": {
                "CreateVideoRequest": create_video_json(default_provider),
                "CreateVideoForm": create_video_form(default_provider),
                "CreateStoryboardRequest": create_storyboard_json(default_provider),
                "CreateWebhookEndpointRequest": create_webhook_json(),
                "Video": video_schema(),
                "VideoList": list_schema("Video"),
                "VideoDeleted": deleted_schema("video.deleted"),
                "Storyboard": storyboard_schema(),
                "StoryboardList": list_schema("Storyboard"),
                "WebhookEndpoint": webhook_endpoint_schema(with_secret=False),
                "WebhookEndpointWithSecret": webhook_endpoint_schema(with_secret=True),
                "WebhookEndpointList": list_schema("WebhookEndpoint"),
                "WebhookEndpointDeleted": deleted_schema("webhook_endpoint.deleted"),
                "Error": error_schema(),
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI document (public: it describes the API, it grants nothing)."""
    response = jsonify(build_document(current_app.config["DEFAULT_PROVIDER"]))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
