"""Client isolation: one API client can neither read, list, cancel, delete nor download
another client's videos, storyboards or webhook endpoints -- 404 on every object route,
answered exactly like an id that does not exist (no existence oracle) -- and list filters
and cursors (``?storyboard_id=``, ``?after=``) pointing at the other client's ids show
nothing of it. Nothing the refused calls attempted happened."""

from __future__ import annotations

import pytest

from webapp.extensions import db
from webapp.jobs.models import VideoJob
from webapp.storyboards.models import Storyboard
from webapp.timeutil import utcnow
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint
from worker.storage import get_storage

MP4 = b"\x00\x00\x00\x18ftypmp42 isolation"


def unknown(object_id: str) -> str:
    """An id of the same shape and time that belongs to nobody."""
    return object_id[:-1] + ("0" if object_id[-1] != "0" else "1")


def shape(response) -> tuple[int, dict]:
    """Status and error envelope without the parts that differ per request/id."""
    error = dict(response.get_json()["error"])
    error.pop("request_id")
    return response.status_code, error


@pytest.fixture
def owner_objects(app, client, auth):
    """Client A's objects: a queued and a completed (with files) video, a storyboard with a
    compiled film, and two webhook endpoints."""
    create = {"prompt": "private", "seconds": "1", "size": "320x180"}
    queued = client.post("/v1/videos", json=create, headers=auth).get_json()["id"]
    done = client.post("/v1/videos", json=create, headers=auth).get_json()["id"]
    board = client.post(
        "/v1/storyboards", json={"title": "private film", "scenes": ["a", "b"]}, headers=auth
    ).get_json()
    endpoints = [
        client.post(
            "/v1/webhook_endpoints", json={"url": f"http://127.0.0.1:9/a{i}"}, headers=auth
        ).get_json()["id"]
        for i in range(2)
    ]
    with app.app_context():
        storage = get_storage()
        job = db.session.get(VideoJob, done)
        job.status, job.progress, job.completed_at = "completed", 100, utcnow()
        for variant in ("video", "thumbnail"):
            path = storage.path(done, variant)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(MP4)
            setattr(job, f"{variant}_path", str(path.relative_to(storage.root)))
        film = storage.root / "storyboards" / board["id"] / "film.mp4"
        film.parent.mkdir(parents=True, exist_ok=True)
        film.write_bytes(MP4)
        row = db.session.get(Storyboard, board["id"])
        row.compile_status, row.compiled_path = "completed", f"storyboards/{board['id']}/film.mp4"
        for scene in board["scenes"]:
            db.session.get(VideoJob, scene["id"]).status = "completed"
        db.session.commit()
    # the owner really can reach all of it (so the 404s below are about ownership)
    assert client.get(f"/v1/videos/{done}/content", headers=auth).data == MP4
    assert client.get(f"/v1/storyboards/{board['id']}/content", headers=auth).data == MP4
    return {
        "videos": [queued, done],
        "scenes": [s["id"] for s in board["scenes"]],
        "board": board["id"],
        "endpoints": endpoints,
    }


def state(app) -> dict:
    with app.app_context():
        return {
            "jobs": dict(db.session.execute(db.select(VideoJob.id, VideoJob.status)).all()),
            "boards": set(db.session.scalars(db.select(Storyboard.id))),
            "endpoints": set(db.session.scalars(db.select(WebhookEndpoint.id))),
        }


def object_routes(objects: dict) -> list[tuple[str, str, str]]:
    """(method, path template, id) for every object route and every foreign object."""
    routes = []
    for video in objects["videos"] + objects["scenes"]:
        routes += [
            ("GET", "/v1/videos/{}", video),
            ("DELETE", "/v1/videos/{}", video),
            ("POST", "/v1/videos/{}/cancel", video),
            ("GET", "/v1/videos/{}/content", video),
            ("GET", "/v1/videos/{}/content?variant=thumbnail", video),
            ("GET", "/v1/videos/{}/content?variant=video", video),
        ]
    routes += [
        ("GET", "/v1/storyboards/{}", objects["board"]),
        ("POST", "/v1/storyboards/{}/cancel", objects["board"]),
        ("GET", "/v1/storyboards/{}/content", objects["board"]),
    ]
    routes += [("DELETE", "/v1/webhook_endpoints/{}", e) for e in objects["endpoints"]]
    return routes


def test_object_routes_answer_404_exactly_like_unknown_ids(
    app, client, auth, other_auth, owner_objects
):
    before = state(app)
    for method, template, object_id in object_routes(owner_objects):
        foreign = client.open(template.format(object_id), method=method, headers=other_auth)
        assert foreign.status_code == 404, (method, template, object_id)
        missing = client.open(
            template.format(unknown(object_id)), method=method, headers=other_auth
        )
        status, error = shape(foreign)
        assert error["code"].endswith("_not_found"), error
        expected_status, expected = shape(missing)
        expected["message"] = expected["message"].replace(unknown(object_id), object_id)
        assert (status, error) == (expected_status, expected), (method, template)
        assert b"ftyp" not in foreign.data
    assert state(app) == before, "refused calls changed nothing"
    for video in owner_objects["videos"]:
        assert client.get(f"/v1/videos/{video}", headers=auth).status_code == 200


def test_lists_show_only_your_own_objects(app, client, auth, other_auth, owner_objects):
    mine = client.post("/v1/videos", json={"prompt": "mine"}, headers=other_auth).get_json()["id"]
    my_board = client.post(
        "/v1/storyboards", json={"title": "mine", "scenes": ["m"]}, headers=other_auth
    ).get_json()
    my_endpoint = client.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/b"}, headers=other_auth
    ).get_json()["id"]
    theirs = set(
        owner_objects["videos"]
        + owner_objects["scenes"]
        + [owner_objects["board"]]
        + owner_objects["endpoints"]
    )

    def ids(path: str) -> set[str]:
        response = client.get(path, headers=other_auth)
        assert response.status_code == 200, (path, response.get_json())
        body = response.get_json()
        for item in body["data"]:
            for scene in item.get("scenes", []):
                assert scene["id"] not in theirs, path
        found = {item["id"] for item in body["data"]}
        assert not found & theirs, path
        assert body["first_id"] not in theirs and body["last_id"] not in theirs, path
        return found

    my_videos = {mine} | {s["id"] for s in my_board["scenes"]}
    assert ids("/v1/videos?limit=100") == my_videos
    assert ids("/v1/storyboards?limit=100") == {my_board["id"]}
    assert ids("/v1/webhook_endpoints") == {my_endpoint}
    for status in ("queued", "completed", "in_progress", "failed", "cancelled"):
        ids(f"/v1/videos?status={status}&limit=100")

    # filters and cursors pointing at the other client's ids
    board = owner_objects["board"]
    assert ids(f"/v1/videos?storyboard_id={board}") == set()
    assert client.get(f"/v1/videos?storyboard_id={board}", headers=other_auth).get_json() == (
        client.get(f"/v1/videos?storyboard_id={unknown(board)}", headers=other_auth).get_json()
    ), "a foreign storyboard id filters exactly like an unknown one"
    for order in ("asc", "desc"):
        for video in owner_objects["videos"]:
            page = ids(f"/v1/videos?after={video}&order={order}&limit=100")
            assert page <= my_videos
            same = client.get(
                f"/v1/videos?after={unknown(video)}&order={order}&limit=100", headers=other_auth
            ).get_json()
            assert {v["id"] for v in same["data"]} == page, "no oracle in the cursor"
        assert ids(f"/v1/storyboards?after={board}&order={order}") <= {my_board["id"]}
    # and the owner's view is untouched by the other client's objects
    owner_list = client.get("/v1/videos?limit=100", headers=auth).get_json()["data"]
    assert {v["id"] for v in owner_list} == set(owner_objects["videos"] + owner_objects["scenes"])


def test_no_writing_into_another_clients_storyboard(app, client, other_auth, owner_objects):
    board = owner_objects["board"]
    response = client.post(
        "/v1/videos", json={"prompt": "intruder", "storyboard_id": board}, headers=other_auth
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "storyboard_not_found"
    form = client.post(
        "/v1/videos",
        data={"prompt": "intruder", "storyboard_id": board},
        headers=other_auth,
        content_type="multipart/form-data",
    )
    assert form.status_code == 404
    with app.app_context():
        scenes = db.session.scalars(db.select(VideoJob).filter_by(storyboard_id=board)).all()
        assert sorted(j.id for j in scenes) == sorted(owner_objects["scenes"])


def test_idempotency_keys_are_per_client(app, client, auth, other_auth):
    body = {"prompt": "same request, same key"}
    first = client.post("/v1/videos", json=body, headers={**auth, "Idempotency-Key": "shared"})
    second = client.post(
        "/v1/videos", json=body, headers={**other_auth, "Idempotency-Key": "shared"}
    )
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers, "another client's response replayed"
    assert first.get_json()["id"] != second.get_json()["id"]
    assert client.get(f"/v1/videos/{first.get_json()['id']}", headers=other_auth).status_code == 404


def test_events_go_only_to_the_owners_endpoints(app, client, auth, other_auth, owner_objects):
    intruder = client.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/spy"}, headers=other_auth
    ).get_json()["id"]
    queued = owner_objects["videos"][0]
    assert client.post(f"/v1/videos/{queued}/cancel", headers=auth).status_code == 200
    with app.app_context():
        endpoints = set(db.session.scalars(db.select(WebhookDelivery.endpoint_id)))
    assert endpoints == set(owner_objects["endpoints"])
    assert intruder not in endpoints
