"""CSRF on the dashboard: every state-changing route refuses a missing, wrong or foreign
token and any cross-site request (``Origin``, ``Sec-Fetch-Site``) -- and the database shows
that nothing changed. GET requests never change anything."""

from __future__ import annotations

import re

import pytest

from tests.support.dashboard import csrf_from, login, page_token
from tests.support.factories import gen_failure
from webapp.extensions import db
from webapp.jobs.models import VideoJob
from webapp.jobs.signatures import error_signature
from webapp.webhooks.models import WebhookDelivery, WebhookEvent

VOLATILE = {("admin_sessions", "last_seen_at")}  # touched by any signed-in request


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table (minus the session's last-seen time)."""
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
            rows = db.session.execute(db.select(*columns)).all()
            state[table.name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
        return state


def failed_job(app, client, auth, message: str) -> str:
    job_id = client.post(
        "/v1/videos", json={"prompt": "doomed", "seconds": "1", "size": "320x180"}, headers=auth
    ).get_json()["id"]
    return gen_failure(app, job_id, message)


@pytest.fixture
def world(app, client, auth, api_client):
    """A failed job, a failed group, a client to revoke, a failed webhook delivery."""
    single = failed_job(app, client, auth, "single failure")
    group = [failed_job(app, client, auth, f"grouped failure {i}") for i in range(2)]
    endpoint = client.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=auth
    ).get_json()["id"]
    with app.app_context():
        event = WebhookEvent(
            id="msg_csrf", client_id=api_client.id, type="video.failed", payload={"id": "x"}
        )
        db.session.add(event)
        db.session.flush()
        delivery = WebhookDelivery(
            event_id=event.id, endpoint_id=endpoint, status="failed", attempts=12
        )
        db.session.add(delivery)
        db.session.commit()
        delivery_id = delivery.id
    signature = error_signature("ProviderError", "e1", "grouped failure 0")
    return {
        "retry": (f"/dashboard/jobs/{single}/retry", {}),
        "delete": (f"/dashboard/jobs/{single}/delete", {}),
        "bulk retry": ("/dashboard/failed/retry", {"job_id": [single, *group]}),
        "group retry": (f"/dashboard/failed/groups/{signature}/retry", {}),
        "client create": ("/dashboard/clients", {"name": "sneaky"}),
        "client revoke": (f"/dashboard/clients/{api_client.id}/revoke", {}),
        "webhook redeliver": (f"/dashboard/webhooks/deliveries/{delivery_id}/redeliver", {}),
        "logout": ("/dashboard/logout", {}),
    }


ACTIONS = [
    "retry",
    "delete",
    "bulk retry",
    "group retry",
    "client create",
    "client revoke",
    "webhook redeliver",
    "logout",
]


def attacks(token: str, foreign: str) -> dict[str, tuple[dict, dict]]:
    """name -> (extra form fields, headers); each must be refused."""
    return {
        "no token": ({}, {}),
        "no token, htmx": ({}, {"HX-Request": "true"}),
        "empty token": ({"csrf_token": ""}, {"X-CSRF-Token": ""}),
        "wrong form token": ({"csrf_token": "forged"}, {}),
        "wrong header token": ({}, {"X-CSRF-Token": "forged", "HX-Request": "true"}),
        "truncated token": ({"csrf_token": token[:-1]}, {}),
        "another session's token": ({"csrf_token": foreign}, {"X-CSRF-Token": foreign}),
        "cross-site origin": ({"csrf_token": token}, {"Origin": "https://evil.example"}),
        "same host, other port": ({"csrf_token": token}, {"Origin": "http://localhost:8080"}),
        "same host, other scheme": ({"csrf_token": token}, {"Origin": "https://localhost"}),
        "null origin": ({"csrf_token": token}, {"Origin": "null"}),
        "sec-fetch-site cross-site": ({"csrf_token": token}, {"Sec-Fetch-Site": "cross-site"}),
        "sec-fetch-site same-site": ({"csrf_token": token}, {"Sec-Fetch-Site": "same-site"}),
        "cross-site with header token": (
            {},
            {"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site", "HX-Request": "true"},
        ),
    }


@pytest.mark.parametrize("action", ACTIONS)
def test_forged_state_changes_are_refused_and_change_nothing(app, client, world, action):
    path, fields = world[action]
    assert login(client, address="10.88.0.1").status_code == 302
    token = page_token(client)
    other = app.test_client()
    assert login(other, address="10.88.0.2").status_code == 302
    foreign = page_token(other)
    assert foreign != token
    before = snapshot(app)
    for name, (extra, headers) in attacks(token, foreign).items():
        response = client.post(path, data={**fields, **extra}, headers=headers)
        assert response.status_code == 403, (action, name, response.status_code)
        assert snapshot(app) == before, (action, name)
    assert client.get("/dashboard/").status_code == 200, "still signed in"
    # control: the same request with the token, same-origin, does change the state
    response = client.post(
        path,
        data={**fields, "csrf_token": token},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code in (200, 204, 302), (action, response.status_code)
    assert snapshot(app) != before, action


def test_login_itself_needs_the_token_and_a_same_site_request(app, client):
    from tests.support.dashboard import ADMIN_KEY

    page = client.get("/dashboard/login").get_data(as_text=True)
    token = csrf_from(page)
    before = snapshot(app)
    for data, headers in [
        ({"admin_key": ADMIN_KEY}, {}),
        ({"admin_key": ADMIN_KEY, "csrf_token": "forged"}, {}),
        ({"admin_key": ADMIN_KEY, "csrf_token": token}, {"Origin": "https://evil.example"}),
        ({"admin_key": ADMIN_KEY, "csrf_token": token}, {"Sec-Fetch-Site": "cross-site"}),
    ]:
        response = client.post(
            "/dashboard/login",
            data=data,
            headers=headers,
            environ_base={"REMOTE_ADDR": "10.88.0.3"},
        )
        assert response.status_code == 403, (data, headers)
    assert snapshot(app) == before, "no session row, no audit event"
    assert client.get("/dashboard/").status_code == 302


def test_head_on_the_login_form_is_not_a_login(app, client):
    """HEAD skips the CSRF and cross-site checks (a safe method), so it must not log in,
    count a failed attempt or write the audit log."""
    from tests.support.dashboard import ADMIN_KEY

    before = snapshot(app)
    for key in (ADMIN_KEY, "wrong-key"):
        response = client.open(
            "/dashboard/login",
            method="HEAD",
            data={"admin_key": key},
            headers={"Origin": "https://evil.example"},
            environ_base={"REMOTE_ADDR": "10.88.0.5"},
        )
        assert response.status_code == 200, key
    assert snapshot(app) == before
    assert client.get("/dashboard/").status_code == 302


def concrete(rule, ids: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(ids[m.group(1)]), rule.rule)


def finish(app, job_id: str, board_id: str) -> None:
    """Mark a job completed with (tiny) files, and its storyboard compiled, without a worker."""
    from webapp.storyboards.models import Storyboard
    from webapp.timeutil import utcnow
    from worker.storage import get_storage

    with app.app_context():
        storage = get_storage()
        job = db.session.get(VideoJob, job_id)
        job.status, job.progress, job.completed_at = "completed", 100, utcnow()
        for variant, data in (("video", b"\x00\x00\x00\x18ftypmp42"), ("thumbnail", b"\xff\xd8")):
            path = storage.path(job_id, variant)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            setattr(job, f"{variant}_path", str(path.relative_to(storage.root)))
        board = db.session.get(Storyboard, board_id)
        film = storage.root / "storyboards" / board_id / "film.mp4"
        film.parent.mkdir(parents=True, exist_ok=True)
        film.write_bytes(b"\x00\x00\x00\x18ftypmp42")
        board.compile_status, board.compiled_path = "completed", f"storyboards/{board_id}/film.mp4"
        db.session.commit()


def test_get_requests_never_change_state(app, client, auth, api_client, world):
    board = client.post(
        "/v1/storyboards", json={"title": "b", "scenes": ["s"]}, headers=auth
    ).get_json()
    done = board["scenes"][0]["id"]
    finish(app, done, board["id"])
    failed = re.search(r"/jobs/(video_\w+)/retry", world["retry"][0]).group(1)
    assert login(client, address="10.88.0.4").status_code == 302
    with app.app_context():
        delivery_id = db.session.scalar(db.select(WebhookDelivery.id))
        signature = db.session.get(VideoJob, failed).error_signature
    ids = {
        "job_id": failed,
        "storyboard_id": board["id"],
        "variant": "video",
        "signature": signature,
        "client_id": api_client.id,
        "delivery_id": delivery_id,
    }
    before = snapshot(app)
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/dashboard"):
            continue
        path = concrete(rule, ids)
        paths.append(path)
        if "job_id" in rule.arguments:
            paths.append(concrete(rule, {**ids, "job_id": done}))
    paths += [
        "/dashboard/jobs?status=failed&limit=100",
        f"/dashboard/jobs?q=doomed&client={api_client.id}&storyboard={board['id']}",
        f"/dashboard/failed?signature={signature}&retried=5",
        "/dashboard/audit?before=999",
        f"/dashboard/jobs/{done}/media/thumbnail",
        f"/dashboard/storyboards/{board['id']}/film",
    ]
    answered, changed = [], []
    for path in paths:
        for headers in ({}, {"HX-Request": "true"}):
            for method in ("GET", "HEAD"):
                response = client.open(path, method=method, headers=headers)
                answered.append((method, path, response.status_code))
                assert response.status_code < 500, (method, path)
                after = snapshot(app)
                if after != before:
                    changed.append((method, path, headers))
                    before = after
    assert not changed, f"safe requests changed the database: {changed}"
    ok = {p for m, p, s in answered if s == 200}
    assert len(ok) >= 15, sorted(ok)
    assert client.get("/dashboard/").status_code == 200, "GETs did not end the session"
