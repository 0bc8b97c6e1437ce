"""The /v1/videos API: creation, validation, auth, isolation, listing, idempotency, limits.

Runs on both backends (SQLite + stub broker, and PostgreSQL + Redis)."""

from __future__ import annotations

import io
import json

import pytest

from webapp.extensions import db
from webapp.jobs.models import VideoJob


def create(client, auth, **body):
    body.setdefault("prompt", "a red fox in the snow")
    return client.post("/v1/videos", json=body, headers=auth)


def error_of(response):
    payload = response.get_json()
    assert set(payload) == {"error"}, payload
    assert set(payload["error"]) == {"type", "code", "message", "param", "request_id"}
    return payload["error"]


def test_create_json_returns_queued_video_object(client, auth, app, broker):
    response = create(client, auth, seconds="4", size="640x360", metadata={"user": "42"})
    assert response.status_code == 201
    video = response.get_json()
    assert video["object"] == "video"
    assert video["id"].startswith("video_")
    assert video["status"] == "queued"
    assert video["progress"] == 0
    assert (video["model"], video["seconds"], video["size"]) == ("sora-2", "4", "640x360")
    assert video["provider"] == "local"
    assert video["metadata"] == {"user": "42"}
    assert video["error"] is None
    assert isinstance(video["created_at"], int)
    with app.app_context():
        job = db.session.get(VideoJob, video["id"])
        assert job.status == "queued"
        assert job.dispatched_at is not None, "message sent after commit"


def test_create_multipart_like_the_openai_sdk(client, auth):
    response = client.post(
        "/v1/videos",
        data={"prompt": "a lighthouse", "seconds": "8", "size": "1280x720", "metadata[tag]": "sdk"},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    video = response.get_json()
    assert (video["seconds"], video["size"], video["metadata"]) == ("8", "1280x720", {"tag": "sdk"})


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"prompt": ""}, "prompt", "missing_required_parameter"),
        ({"prompt": None}, "prompt", "missing_required_parameter"),
        ({"prompt": 12}, "prompt", "invalid_type"),
        ({"prompt": "x" * 4001}, "prompt", "invalid_value"),
        ({"prompt": "nul\x00byte"}, "prompt", "invalid_value"),
        ({"seconds": "5"}, "seconds", "invalid_value"),
        ({"seconds": True}, "seconds", "invalid_value"),
        ({"size": "999x999"}, "size", "invalid_value"),
        ({"model": "gpt-4"}, "model", "invalid_value"),
        ({"provider": "nope"}, "provider", "invalid_value"),
        ({"metadata": ["a"]}, "metadata", "invalid_value"),
        ({"metadata": {"k": 1}}, "metadata.k", "invalid_value"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "invalid_value"),
        ({"colour": "red"}, "colour", "unknown_parameter"),
    ],
)
def test_validation_errors_name_the_parameter(client, auth, body, param, code):
    payload = {"prompt": "ok", **body}
    response = client.post("/v1/videos", json=payload, headers=auth)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_malformed_json_and_wrong_media_type_are_4xx(client, auth):
    bad = client.post(
        "/v1/videos", data="{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "invalid_json"
    listed = client.post("/v1/videos", json=["prompt"], headers=auth)
    assert listed.status_code == 400
    text = client.post(
        "/v1/videos", data="prompt=x", headers={**auth, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    upload = client.post(
        "/v1/videos",
        data={"prompt": "x", "input_reference": (io.BytesIO(b"img"), "a.png")},
        headers=auth,
    )
    assert upload.status_code == 400
    assert error_of(upload)["param"] == "input_reference"


def test_missing_invalid_and_revoked_keys_get_401(client, app, api_client, auth):
    assert error_of(client.get("/v1/videos"))["code"] == "missing_api_key"
    wrong = client.get("/v1/videos", headers={"Authorization": "Bearer rq_wrong"})
    assert wrong.status_code == 401
    assert error_of(wrong)["type"] == "authentication_error"
    basic = client.get("/v1/videos", headers={"Authorization": f"Basic {api_client.key}"})
    assert basic.status_code == 401
    assert client.get("/v1/videos", headers=auth).status_code == 200
    from webapp.clients import service

    with app.app_context():
        service.revoke_client(api_client.id)
    assert client.get("/v1/videos", headers=auth).status_code == 401


def test_other_clients_jobs_are_404_everywhere(client, auth, other_auth):
    video_id = create(client, auth).get_json()["id"]
    for method, path in [
        ("get", f"/v1/videos/{video_id}"),
        ("delete", f"/v1/videos/{video_id}"),
        ("post", f"/v1/videos/{video_id}/cancel"),
        ("get", f"/v1/videos/{video_id}/content"),
    ]:
        response = getattr(client, method)(path, headers=other_auth)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "video_not_found"
    assert client.get("/v1/videos", headers=other_auth).get_json()["data"] == []
    assert client.get(f"/v1/videos/{video_id}", headers=auth).status_code == 200


def test_keyset_pagination_walks_every_job_once(client, auth):
    ids = [create(client, auth, prompt=f"scene {i}").get_json()["id"] for i in range(7)]
    seen, after = [], None
    while True:
        query = "?limit=3" + (f"&after={after}" if after else "")
        page = client.get("/v1/videos" + query, headers=auth).get_json()
        assert page["object"] == "list"
        seen += [v["id"] for v in page["data"]]
        assert page["first_id"] == page["data"][0]["id"]
        assert page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == list(reversed(ids)), "newest first, no gaps, no repeats"
    ascending = client.get("/v1/videos?order=asc&limit=100", headers=auth).get_json()
    assert [v["id"] for v in ascending["data"]] == ids
    assert ascending["has_more"] is False


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("order=up", "order"),
        ("after=nope", "after"),
        ("status=done", "status"),
    ],
)
def test_list_parameters_are_bounded(client, auth, query, param):
    response = client.get(f"/v1/videos?{query}", headers=auth)
    assert response.status_code == 400
    assert error_of(response)["param"] == param


def test_list_filters_by_status(client, auth):
    first = create(client, auth).get_json()["id"]
    second = create(client, auth).get_json()["id"]
    assert client.post(f"/v1/videos/{first}/cancel", headers=auth).status_code == 200
    cancelled = client.get("/v1/videos?status=cancelled", headers=auth).get_json()["data"]
    queued = client.get("/v1/videos?status=queued", headers=auth).get_json()["data"]
    assert [v["id"] for v in cancelled] == [first]
    assert [v["id"] for v in queued] == [second]


def test_idempotency_replays_conflicts_and_rejects_other_bodies(client, auth, app):
    headers = {**auth, "Idempotency-Key": "order-123"}
    first = client.post("/v1/videos", json={"prompt": "a cat"}, headers=headers)
    again = client.post("/v1/videos", json={"prompt": "a cat"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        assert db.session.query(VideoJob).count() == 1
    other = client.post("/v1/videos", json={"prompt": "a dog"}, headers=headers)
    assert other.status_code == 422
    assert error_of(other)["code"] == "idempotency_key_reused"


def test_idempotency_key_in_flight_is_409(client, auth, app, api_client):
    from webapp.api.models import IdempotencyRecord

    with app.app_context():
        db.session.add(
            IdempotencyRecord(
                client_id=api_client.id, key="busy", fingerprint="x" * 64, in_flight=True
            )
        )
        db.session.commit()
    response = client.post(
        "/v1/videos", json={"prompt": "a cat"}, headers={**auth, "Idempotency-Key": "busy"}
    )
    # a different fingerprint wins over in-flight: 422; same fingerprint: 409
    assert response.status_code == 422
    with app.app_context():
        record = db.session.scalar(db.select(IdempotencyRecord).filter_by(key="busy"))
        from webapp.api import idempotency

        with app.test_request_context("/v1/videos", method="POST", json={"prompt": "a cat"}):
            record.fingerprint = idempotency.request_fingerprint()
        db.session.commit()
    response = client.post(
        "/v1/videos", json={"prompt": "a cat"}, headers={**auth, "Idempotency-Key": "busy"}
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_key_in_use"


def test_validation_failures_do_not_burn_the_idempotency_key(client, auth):
    headers = {**auth, "Idempotency-Key": "retry-me"}
    assert client.post("/v1/videos", json={"prompt": ""}, headers=headers).status_code == 400
    assert client.post("/v1/videos", json={"prompt": "ok"}, headers=headers).status_code == 201


def test_oversized_body_is_413_with_envelope(client, auth):
    response = client.post(
        "/v1/videos",
        data=json.dumps({"prompt": "x" * 2_000_000}),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_request_id_is_echoed_or_generated(client, auth):
    mine = client.get("/v1/videos", headers={**auth, "X-Request-Id": "abc-123"})
    assert mine.headers["X-Request-Id"] == "abc-123"
    made = client.get("/v1/videos", headers={**auth, "X-Request-Id": "<script>"})
    assert made.headers["X-Request-Id"].startswith("req_")
    assert client.get("/nowhere").headers["X-Request-Id"].startswith("req_")


def test_unknown_route_and_method_use_the_envelope(client, auth):
    assert error_of(client.get("/v1/nothing", headers=auth))["code"] == "not_found"
    response = client.put("/v1/videos", headers=auth)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_delete_removes_the_job(client, auth):
    video_id = create(client, auth).get_json()["id"]
    response = client.delete(f"/v1/videos/{video_id}", headers=auth)
    assert response.get_json() == {"id": video_id, "object": "video.deleted", "deleted": True}
    assert client.get(f"/v1/videos/{video_id}", headers=auth).status_code == 404


def test_cancel_queued_then_cancel_again_is_idempotent(client, auth):
    video_id = create(client, auth).get_json()["id"]
    first = client.post(f"/v1/videos/{video_id}/cancel", headers=auth)
    assert first.get_json()["status"] == "cancelled"
    assert client.post(f"/v1/videos/{video_id}/cancel", headers=auth).status_code == 200


def test_content_before_completion_is_asset_not_ready(client, auth):
    video_id = create(client, auth).get_json()["id"]
    response = client.get(f"/v1/videos/{video_id}/content", headers=auth)
    assert response.status_code == 404
    assert error_of(response)["code"] == "asset_not_ready"
    bad = client.get(f"/v1/videos/{video_id}/content?variant=gif", headers=auth)
    assert error_of(bad)["param"] == "variant"
