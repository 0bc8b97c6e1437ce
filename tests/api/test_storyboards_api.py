"""/v1/storyboards and /v1/webhook_endpoints: validation, isolation, idempotency, cancel."""

from __future__ import annotations

import pytest

from webapp.extensions import db
from webapp.jobs.models import VideoJob

BOARD = {"title": "t", "size": "320x180", "seconds": "1", "scenes": ["a", "b"]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({**BOARD, "scenes": []}, "scenes"),
        ({**BOARD, "scenes": ["x"] * 21}, "scenes"),
        ({**BOARD, "scenes": [{"prompt": ""}]}, "scenes[0].prompt"),
        ({**BOARD, "scenes": [{"prompt": "x", "colour": 1}]}, "colour"),
        ({**BOARD, "style": "vaporwave"}, "style"),
        ({**BOARD, "title": ""}, "title"),
        ({**BOARD, "size": "1x1"}, "size"),
    ],
)
def test_storyboard_validation(client, auth, body, param):
    response = client.post("/v1/storyboards", json=body, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


def test_scenes_are_created_in_one_transaction_and_isolated(client, auth, other_auth, app):
    board = client.post("/v1/storyboards", json=BOARD, headers=auth).get_json()
    with app.app_context():
        assert db.session.query(VideoJob).filter_by(storyboard_id=board["id"]).count() == 2
    assert board["status"] == "queued"
    assert client.get(f"/v1/storyboards/{board['id']}", headers=other_auth).status_code == 404
    assert client.get("/v1/storyboards", headers=other_auth).get_json()["data"] == []
    listed = client.get(f"/v1/videos?storyboard_id={board['id']}", headers=auth).get_json()
    assert len(listed["data"]) == 2


def test_storyboard_idempotency(client, auth, app):
    headers = {**auth, "Idempotency-Key": "board-1"}
    first = client.post("/v1/storyboards", json=BOARD, headers=headers)
    again = client.post("/v1/storyboards", json=BOARD, headers=headers)
    assert again.get_json()["id"] == first.get_json()["id"]
    with app.app_context():
        assert db.session.query(VideoJob).count() == 2


def test_cancel_storyboard_cancels_its_scenes(client, auth):
    board = client.post("/v1/storyboards", json=BOARD, headers=auth).get_json()
    cancelled = client.post(f"/v1/storyboards/{board['id']}/cancel", headers=auth).get_json()
    assert cancelled["status"] == "cancelled"
    assert {s["status"] for s in cancelled["scenes"]} == {"cancelled"}


def test_webhook_endpoints_crud_and_secret_shown_once(client, auth, other_auth):
    created = client.post(
        "/v1/webhook_endpoints",
        headers=auth,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["video.completed"]},
    )
    assert created.status_code == 201
    endpoint = created.get_json()
    assert endpoint["secret"].startswith("whsec_")
    listed = client.get("/v1/webhook_endpoints", headers=auth).get_json()["data"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]
    assert (
        client.delete(f"/v1/webhook_endpoints/{endpoint['id']}", headers=other_auth).status_code
        == 404
    )
    assert (
        client.delete(f"/v1/webhook_endpoints/{endpoint['id']}", headers=auth).get_json()["deleted"]
        is True
    )


@pytest.mark.parametrize("url", ["ftp://x/y", "http://user:pw@example.com/", "notaurl", 5])
def test_webhook_url_validation(client, auth, url):
    response = client.post("/v1/webhook_endpoints", headers=auth, json={"url": url})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "url"


class TestProductionWebhookUrls:
    @pytest.fixture
    def app_overrides(self):
        return {"WEBHOOK_ALLOW_PRIVATE": False}

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/hook",
            "http://localhost:8000/",
            "http://10.0.0.8/",
            "http://[::1]/",
            "http://169.254.169.254/",
        ],
    )
    def test_private_and_loopback_urls_are_refused(self, client, auth, url):
        response = client.post("/v1/webhook_endpoints", headers=auth, json={"url": url})
        assert response.status_code == 400
        assert "private or loopback" in response.get_json()["error"]["message"]
