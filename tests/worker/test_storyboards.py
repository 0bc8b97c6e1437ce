"""Storyboards end to end on both backends: scenes run, the film is compiled with the summed
duration, a failed scene retried completes the storyboard, events are signed and delivered."""

from __future__ import annotations

import json
import time
from pathlib import Path

import av
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.dashboard import ADMIN_KEY
from tests.support.receiver import WebhookReceiver

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def duration_of(data: bytes, tmp_path: Path) -> float:
    path = tmp_path / f"probe-{time.monotonic_ns()}.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return container.duration / 1_000_000


def wait_storyboard(
    client, auth, board_id, statuses=("completed", "failed", "cancelled"), timeout=60
):
    deadline = time.monotonic() + timeout
    while True:
        board = client.get(f"/v1/storyboards/{board_id}", headers=auth).get_json()
        if board["status"] in statuses and (
            board["status"] != "completed" or board["compile"]["status"] == "completed"
        ):
            return board
        assert time.monotonic() < deadline, board
        time.sleep(0.1)


def test_three_scenes_compile_into_one_film_of_the_summed_duration(client, auth, worker, tmp_path):
    response = client.post(
        "/v1/storyboards",
        headers=auth,
        json={
            "title": "A day at sea",
            "size": "320x180",
            "seconds": "1",
            "style": "watercolor",
            "character": "a small red tugboat",
            "scenes": [
                {"prompt": "leaving harbour at dawn"},
                {"prompt": "a storm rolls in", "seconds": "2"},
                "home again at night",
            ],
        },
    )
    assert response.status_code == 201, response.get_json()
    board = response.get_json()
    assert [s["scene_index"] for s in board["scenes"]] == [0, 1, 2]
    composed = board["scenes"][0]["prompt"]
    assert "watercolor" in composed and "small red tugboat" in composed
    assert composed.endswith("leaving harbour at dawn.")
    done = wait_storyboard(client, auth, board["id"])
    assert done["status"] == "completed"
    assert done["progress"] == 100
    assert done["counts"]["completed"] == 3
    film = client.get(f"/v1/storyboards/{board['id']}/content", headers=auth)
    assert film.status_code == 200
    assert abs(duration_of(film.data, tmp_path) - 4.0) < 0.1


def test_film_is_not_ready_before_the_scenes(client, auth, broker):
    board = client.post(
        "/v1/storyboards",
        headers=auth,
        json={"title": "t", "size": "320x180", "seconds": "1", "scenes": ["a"]},
    ).get_json()
    response = client.get(f"/v1/storyboards/{board['id']}/content", headers=auth)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "asset_not_ready"


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def app_overrides(fake):
    return {"OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-test"}


def test_a_failed_scene_retried_completes_the_storyboard_and_events_arrive_signed_once(
    client, auth, worker, fake, receiver, tmp_path
):
    endpoint = client.post(
        "/v1/webhook_endpoints", headers=auth, json={"url": receiver.url}
    ).get_json()
    assert endpoint["secret"].startswith("whsec_")
    fake.fail_prompts_containing("THE-BAD-ONE", "moderation_blocked", "blocked by policy")
    receiver.answers = [500]  # the first delivery attempt fails
    board = client.post(
        "/v1/storyboards",
        headers=auth,
        json={
            "title": "Retry me",
            "provider": "openai",
            "size": "1280x720",
            "seconds": "4",
            "scenes": ["one", "THE-BAD-ONE", "three"],
        },
    ).get_json()
    failed = wait_storyboard(client, auth, board["id"], statuses=("failed",))
    bad = next(s for s in failed["scenes"] if s["status"] == "failed")
    assert bad["scene_index"] == 1

    fake.clear_failures()
    retried = client.post(f"/api/admin/queue/retry/{bad['id']}", headers=ADMIN)
    assert retried.status_code == 200
    done = wait_storyboard(client, auth, board["id"])
    assert done["status"] == "completed"
    film = client.get(f"/v1/storyboards/{board['id']}/content", headers=auth)
    assert abs(duration_of(film.data, tmp_path) - 3.0) < 0.1  # three 1-second remote clips

    expected = {("video.completed", s["id"]) for s in done["scenes"]}
    expected |= {
        ("video.failed", bad["id"]),
        ("storyboard.failed", board["id"]),
        ("storyboard.completed", board["id"]),
    }
    deadline = time.monotonic() + 20
    while len(receiver.accepted()) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # nothing more may arrive
    verifier = Webhook(endpoint["secret"])
    seen = []
    for headers, body in receiver.accepted():
        payload = verifier.verify(body, {k.lower(): v for k, v in headers.items()})
        assert payload["object"] == "event"
        assert payload["id"] == headers["Webhook-Id"]
        assert set(payload["data"]) == {"id", "object", "status"}
        seen.append((payload["type"], payload["data"]["id"]))
    assert sorted(seen) == sorted(expected), "each event delivered exactly once"
    first_ids = [h["Webhook-Id"] for h, _, status in receiver.requests if status == 500]
    assert len(first_ids) == 1
    assert sum(h["Webhook-Id"] == first_ids[0] for h, _, _ in receiver.requests) == 2, (
        "the retry of the failed attempt carries the same webhook-id"
    )


def test_an_endpoint_answering_410_is_disabled(client, auth, worker, receiver, settle, app):
    client.post(
        "/v1/webhook_endpoints",
        headers=auth,
        json={"url": receiver.url, "event_types": ["video.completed"]},
    )
    receiver.answers = [410]
    first = client.post(
        "/v1/videos", headers=auth, json={"prompt": "a", "seconds": "1", "size": "320x180"}
    ).get_json()["id"]
    settle([first])
    deadline = time.monotonic() + 10
    while not client.get("/v1/webhook_endpoints", headers=auth).get_json()["data"][0]["disabled"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = client.post(
        "/v1/videos", headers=auth, json={"prompt": "b", "seconds": "1", "size": "320x180"}
    ).get_json()["id"]
    settle([second])
    time.sleep(0.3)
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0][1])["data"]["id"] == first


def test_retention_deletes_old_finished_storyboards_with_their_scenes_and_film(
    client, auth, app, worker, runner
):
    from datetime import timedelta

    from webapp.extensions import db
    from webapp.jobs.models import VideoJob
    from webapp.storyboards.models import Storyboard
    from webapp.timeutil import utcnow

    body = {"title": "t", "size": "320x180", "seconds": "1", "scenes": ["a", "b"]}
    old, recent = (client.post("/v1/storyboards", headers=auth, json=body).get_json() for _ in "ab")
    for board in (old, recent):
        wait_storyboard(client, auth, board["id"])
    worker.stop()  # nothing runs the third one: it stays queued
    unfinished = client.post("/v1/storyboards", headers=auth, json=body).get_json()
    media = Path(app.config["MEDIA_ROOT"])
    assert (media / "storyboards" / old["id"] / "film.mp4").exists()
    with app.app_context():
        days = app.config["JOB_RETENTION_DAYS"] + 1
        for board_id in (old["id"], unfinished["id"]):
            db.session.get(Storyboard, board_id).created_at = utcnow() - timedelta(days=days)
        db.session.commit()
    result = runner.invoke(args=["jobs", "cleanup"])
    assert result.output.strip() == "Deleted 0 jobs and 1 storyboards.", result.output
    with app.app_context():
        assert db.session.get(Storyboard, old["id"]) is None
        assert db.session.get(Storyboard, recent["id"]) is not None
        assert db.session.get(Storyboard, unfinished["id"]) is not None, "a scene is queued"
        remaining = set(db.session.scalars(db.select(VideoJob.storyboard_id)))
    assert remaining == {recent["id"], unfinished["id"]}
    assert not (media / "storyboards" / old["id"]).exists()
    assert (media / "storyboards" / recent["id"] / "film.mp4").exists()
    for scene in old["scenes"]:
        assert not (media / "jobs" / scene["id"]).exists()
