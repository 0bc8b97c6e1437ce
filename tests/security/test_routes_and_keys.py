"""Every route refuses anonymous callers unless it is on an explicit public list, and the
admin key is accepted only as ``Authorization: Bearer`` (API) or typed into the login form
(dashboard) -- never from a query string, HTTP Basic, another header or a forged cookie."""

from __future__ import annotations

import base64
import inspect
import re

import pytest

from tests.support.dashboard import ADMIN_KEY, csrf_from, login, page_token
from webapp.admin.models import AuditEvent
from webapp.api.openapi import bp as openapi_bp
from webapp.extensions import db
from webapp.jobs.models import VideoJob

PUBLIC = {"static", "health.healthz", "dashboard.login", "openapi.openapi_document"}
API_PREFIXES = ("/v1/", "/api/", "/metrics")
ADMIN_ROUTES = [("GET", "/api/admin/queue"), ("GET", "/metrics")]
QUERY_NAMES = ("key", "api_key", "admin_key", "token", "access_token", "auth", "apikey")


@pytest.fixture
def app_with_openapi(app):
    if "openapi" not in app.blueprints:
        app.register_blueprint(openapi_bp)
    return app


@pytest.fixture
def real_ids(app_with_openapi, client, auth):
    """Real objects, so a view that looked an id up before checking the caller would show."""
    video = client.post("/v1/videos", json={"prompt": "secret plans"}, headers=auth).get_json()
    board = client.post(
        "/v1/storyboards", json={"title": "t", "scenes": ["s"]}, headers=auth
    ).get_json()
    endpoint = client.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/h"}, headers=auth
    ).get_json()
    with app_with_openapi.app_context():
        job = db.session.get(VideoJob, video["id"])
        job.status, job.error_signature = "failed", "sig"
        db.session.commit()
    return {
        "video_id": video["id"],
        "job_id": video["id"],
        "storyboard_id": board["id"],
        "endpoint_id": endpoint["id"],
        "signature": "sig",
        "variant": "video",
        "client_id": "1",
        "delivery_id": "1",
        "filename": "css/dashboard.css",
    }


def concrete(rule, ids: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: ids[m.group(1)], rule.rule)


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def job_status(app, job_id):
    with app.app_context():
        return db.session.get(VideoJob, job_id).status


def test_every_route_outside_the_public_list_refuses_anonymous_requests(
    app_with_openapi, client, real_ids
):
    app = app_with_openapi
    checked = set()
    for rule, method in routes(app):
        if rule.endpoint in PUBLIC:
            continue
        path = concrete(rule, real_ids)
        for headers in ({}, {"HX-Request": "true"}):
            response = client.open(path, method=method, headers=headers)
            if rule.rule.startswith(API_PREFIXES):
                assert response.status_code == 401, (method, path)
                assert "secret plans" not in response.get_data(as_text=True)
            elif method == "GET" and not headers:
                assert response.status_code == 302, (method, path)
                assert response.headers["Location"].startswith("/dashboard/login")
            elif method == "GET":
                assert response.status_code == 401, (method, path)
                assert response.headers["HX-Redirect"].startswith("/dashboard/login")
            else:
                # state changes without a session fail the CSRF check (403) before anything
                assert response.status_code in (302, 403), (method, path)
        checked.add(rule.endpoint)
    assert len(checked) >= 35
    assert job_status(app, real_ids["video_id"]) == "failed"


def test_the_public_list_is_really_public_and_small(app_with_openapi, client):
    endpoints = {rule.endpoint for rule in app_with_openapi.url_map.iter_rules()}
    assert endpoints >= PUBLIC, "the public list names routes that exist"
    assert client.get("/static/css/dashboard.css").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/dashboard/login").status_code == 200
    assert client.get("/v1/openapi.json").status_code == 200


def test_a_login_page_csrf_token_does_not_replace_a_session(app_with_openapi, client, real_ids):
    """An attacker can get a valid anonymous CSRF token from the login page; it still does
    nothing without a signed-in session."""
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    for rule, method in routes(app_with_openapi):
        if method != "POST" or not rule.rule.startswith("/dashboard") or rule.endpoint in PUBLIC:
            continue
        response = client.post(concrete(rule, real_ids), data={"csrf_token": token})
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/dashboard/login")
    assert job_status(app_with_openapi, real_ids["video_id"]) == "failed"
    with app_with_openapi.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 0


def test_client_and_admin_keys_are_not_interchangeable(client, auth, api_client):
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert client.get("/api/admin/queue", headers=admin).status_code == 200
    assert client.get("/v1/videos", headers=auth).status_code == 200
    assert client.get("/v1/videos", headers=admin).status_code == 401
    for method, path in ADMIN_ROUTES:
        assert client.open(path, method=method, headers=auth).status_code == 401, path


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-the-admin-key-" + "z" * 20},
        {"Authorization": f"Bearer {ADMIN_KEY[:-1]}"},
        {"Authorization": f"Bearer {ADMIN_KEY}x"},
        {"Authorization": f"Bearer {ADMIN_KEY.upper()}"},
        {"Authorization": f"Bearer{ADMIN_KEY}"},
        {"Authorization": f"Token {ADMIN_KEY}"},
        {"Authorization": ADMIN_KEY},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_KEY}".encode()).decode()},
        {"Authorization": "Basic " + base64.b64encode(f"{ADMIN_KEY}:".encode()).decode()},
        {"Authorization": "Basic " + base64.b64encode(f":{ADMIN_KEY}".encode()).decode()},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"X-Api-Key": ADMIN_KEY},
        {"X-Admin-Key": ADMIN_KEY},
        {"Cookie": f"admin_key={ADMIN_KEY}"},
    ],
    ids=lambda h: next(iter(h)) + ":" + next(iter(h.values()))[:14],
)
def test_the_admin_api_refuses_anything_but_the_bearer_key(client, headers):
    for method, path in ADMIN_ROUTES + [("POST", "/api/admin/queue/retry/video_x")]:
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.get_json() == {"error": "Unauthorized. Admin authentication required."}


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_the_admin_key_in_a_query_string_is_refused(client, name):
    for method, path in ADMIN_ROUTES:
        response = client.open(f"{path}?{name}={ADMIN_KEY}", method=method)
        assert response.status_code == 401, (path, name)
    page = client.get(f"/dashboard/?{name}={ADMIN_KEY}")
    assert page.status_code == 302 and "/dashboard/login" in page.headers["Location"]


def test_the_dashboard_ignores_the_key_outside_the_login_form(client):
    basic = base64.b64encode(f"admin:{ADMIN_KEY}".encode()).decode()
    for headers in (
        {"Authorization": f"Bearer {ADMIN_KEY}"},
        {"Authorization": f"Basic {basic}"},
        {"X-Api-Key": ADMIN_KEY},
    ):
        response = client.get("/dashboard/", headers=headers)
        assert response.status_code == 302, headers
    # the key in the login URL's query string instead of the form body
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    response = client.post(
        f"/dashboard/login?admin_key={ADMIN_KEY}",
        data={"csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.77.0.1"},
    )
    assert response.status_code == 401
    assert client.get("/dashboard/").status_code == 302


def test_a_cookie_signed_with_another_secret_is_refused(app, database_url, tmp_path):
    from webapp import create_app
    from webapp.config import TestConfig

    other = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        MEDIA_ROOT=str(tmp_path / "other"),
        SECRET_KEY="another-secret-" + "q" * 30,
    )
    forger = other.test_client()
    assert login(forger, address="10.77.0.2").status_code == 302
    assert forger.get("/dashboard/").status_code == 200, "the cookie works where it was made"
    forged = forger.get_cookie("reelqueue_session").value
    with other.app_context():
        db.engine.dispose()
    victim = app.test_client()
    victim.set_cookie("reelqueue_session", forged)
    assert victim.get("/dashboard/").status_code == 302
    assert victim.post("/dashboard/clients", data={"name": "x"}).status_code == 403


def test_a_tampered_cookie_is_refused(app, client):
    login(client, address="10.77.0.3")
    cookie = client.get_cookie("reelqueue_session").value
    payload, _, signature = cookie.rpartition(".")
    # change the first character (the last one carries unused base64 padding bits)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    thief = app.test_client()
    thief.set_cookie("reelqueue_session", f"{payload}.{flipped}")
    assert thief.get("/dashboard/").status_code == 302


def test_a_session_made_under_an_old_admin_key_stops_working(app, database_url, tmp_path):
    """Same SECRET_KEY, rotated ADMIN_API_KEY: the old cookie is refused."""
    from webapp import create_app
    from webapp.config import TestConfig

    old = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        MEDIA_ROOT=str(tmp_path / "old"),
        ADMIN_API_KEY="the-old-admin-key-" + "o" * 30,
    )
    browser = old.test_client()
    assert (
        login(browser, key="the-old-admin-key-" + "o" * 30, address="10.77.0.4").status_code == 302
    )
    assert browser.get("/dashboard/").status_code == 200
    cookie = browser.get_cookie("reelqueue_session").value
    with old.app_context():
        db.engine.dispose()
    rotated = app.test_client()
    rotated.set_cookie("reelqueue_session", cookie)
    assert rotated.get("/dashboard/").status_code == 302


def test_logged_in_dashboard_works_as_a_control(client):
    """The refusals above are not an artefact of a broken login."""
    assert login(client, address="10.77.0.5").status_code == 302
    assert client.get("/dashboard/").status_code == 200
    assert page_token(client)


def test_admin_key_comparison_is_constant_time():
    from webapp.admin import auth
    from webapp.clients import service as clients
    from webapp.dashboard import sessions

    source = inspect.getsource(auth.is_admin_key)
    assert "hmac.compare_digest(" in source
    assert not re.search(r"(candidate|expected)\s*[!=]=", source), "no plain == on the key"
    assert "hmac.compare_digest(" in inspect.getsource(sessions.csrf_valid)
    assert "hmac.compare_digest(" in inspect.getsource(clients.authenticate)
    # and the dashboard login and the admin API both go through it
    from webapp.admin.auth import require_admin_key
    from webapp.dashboard import auth_views

    assert "is_admin_key(" in inspect.getsource(require_admin_key)
    assert "is_admin_key(" in inspect.getsource(auth_views.login)
