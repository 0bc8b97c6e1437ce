"""Dashboard: login, sessions, CSRF, the route guard, rate limit, pages and actions."""

from __future__ import annotations

import re

import pytest

from tests.support.dashboard import ADMIN_KEY, csrf_from, login, page_token
from tests.support.factories import gen_failure
from webapp.admin.models import AuditEvent
from webapp.extensions import db
from webapp.jobs.models import VideoJob

# Routes anyone may reach. Everything else must refuse an unauthenticated request.
PUBLIC = {"static", "health.healthz", "dashboard.login", "openapi.openapi_document"}
API_PREFIXES = ("/v1/", "/api/", "/metrics")


def concrete(rule) -> str:
    return re.sub(
        r"<(?:[^:>]+:)?([^>]+)>", lambda m: "1" if "int" in m.group(0) else "x_1", rule.rule
    )


def test_every_route_outside_the_public_list_refuses_anonymous_requests(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(concrete(rule), method=method)
            if rule.rule.startswith(API_PREFIXES):
                assert response.status_code == 401, (rule.rule, method)
            elif method == "GET":
                assert response.status_code == 302, (rule.rule, method)
                assert "/dashboard/login" in response.headers["Location"]
            else:
                # state changes without a session are refused before anything else (CSRF)
                assert response.status_code in (302, 403), (rule.rule, method)
            checked += 1
    assert checked > 25


def test_htmx_requests_without_a_session_get_hx_redirect(client):
    response = client.get("/dashboard/overview/stats", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/dashboard/login")


def test_login_sets_a_hardened_cookie_and_shows_the_overview(client):
    response = login(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert "Throughput, last hour" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_wrong_key_is_refused_and_the_key_is_never_logged(client, caplog):
    response = login(client, key="not-the-key-" + "b" * 30)
    assert response.status_code == 401
    assert client.get("/dashboard/").status_code == 302
    assert "not-the-key" not in caplog.text
    assert ADMIN_KEY not in caplog.text


def test_login_is_rate_limited_per_address(client):
    for _ in range(5):
        assert login(client, key="wrong" * 8, address="10.9.9.9").status_code == 401
    limited = login(client, key="wrong" * 8, address="10.9.9.9")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    # even the right key waits out the window from that address; another address is fine
    assert login(client, address="10.9.9.9").status_code == 429
    assert login(client, address="10.9.9.8").status_code == 302


def test_login_without_csrf_token_is_refused(client):
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"admin_key": ADMIN_KEY})
    assert response.status_code == 403


def test_session_id_rotates_at_login(client):
    login(client)
    first = page_token(client)
    client.post("/dashboard/logout", data={"csrf_token": first})
    login(client)
    assert page_token(client) != first


def test_logout_really_ends_the_session_even_for_a_copied_cookie(app, client):
    login(client)
    stolen = client.get_cookie("reelqueue_session").value
    client.post("/dashboard/logout", data={"csrf_token": page_token(client)})
    thief = app.test_client()
    thief.set_cookie("reelqueue_session", stolen)
    assert thief.get("/dashboard/").status_code == 302


def test_idle_sessions_expire(app, client):
    login(client)
    from webapp.admin.models import AdminSession
    from webapp.timeutil import utcnow

    with app.app_context():
        row = db.session.scalars(db.select(AdminSession)).one()
        row.last_seen_at = utcnow().replace(year=2000)
        db.session.commit()
    assert client.get("/dashboard/").status_code == 302


def test_a_cookie_signed_with_another_secret_is_refused(app, client, database_url, tmp_path):
    from webapp import create_app
    from webapp.config import TestConfig

    other = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        MEDIA_ROOT=str(tmp_path),
        SECRET_KEY="another-secret-" + "z" * 30,
    )
    forger = other.test_client()
    login(forger)
    forged = forger.get_cookie("reelqueue_session").value
    victim = app.test_client()
    victim.set_cookie("reelqueue_session", forged)
    assert victim.get("/dashboard/").status_code == 302


def failed_job(app, client, auth, message="Provider said <b>no</b>"):
    job_id = client.post(
        "/v1/videos", json={"prompt": "doomed", "seconds": "1", "size": "320x180"}, headers=auth
    ).get_json()["id"]
    return gen_failure(app, job_id, message)


def test_state_changes_need_the_csrf_token(app, client, auth):
    job_id = failed_job(app, client, auth)
    login(client)
    missing = client.post(f"/dashboard/jobs/{job_id}/retry", headers={"HX-Request": "true"})
    wrong = client.post(
        f"/dashboard/jobs/{job_id}/retry", headers={"HX-Request": "true", "X-CSRF-Token": "forged"}
    )
    assert missing.status_code == wrong.status_code == 403
    with app.app_context():
        assert db.session.get(VideoJob, job_id).status == "failed"
    ok = client.post(
        f"/dashboard/jobs/{job_id}/retry",
        headers={"HX-Request": "true", "X-CSRF-Token": page_token(client)},
    )
    assert ok.status_code == 200


def test_cross_site_posts_are_refused_even_with_the_token(app, client, auth):
    job_id = failed_job(app, client, auth)
    login(client)
    token = page_token(client)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        response = client.post(
            f"/dashboard/jobs/{job_id}/retry", headers={"X-CSRF-Token": token, **headers}
        )
        assert response.status_code == 403
    with app.app_context():
        assert db.session.get(VideoJob, job_id).status == "failed"


def test_one_click_retry_swaps_the_row_and_the_job_completes(app, client, auth, worker, settle):
    job_id = failed_job(app, client, auth)
    login(client)
    response = client.post(
        f"/dashboard/jobs/{job_id}/retry",
        headers={"HX-Request": "true", "X-CSRF-Token": page_token(client)},
    )
    html = response.get_data(as_text=True)
    assert f'id="row-{job_id}"' in html
    assert "status-failed" not in html
    assert re.search(r"status-(queued|in_progress|completed)", html), "the row shows the retry"
    assert settle([job_id]) == {job_id: "completed"}
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="job.retry")).one()
        assert event.target == job_id


def test_failed_page_groups_by_signature_and_loads_traces_on_demand(app, client, auth):
    a = failed_job(app, client, auth, "timeout after 31s on host 10")
    b = failed_job(app, client, auth, "timeout after 45s on host 12")
    failed_job(app, client, auth, "something else")
    login(client)
    html = client.get("/dashboard/failed").get_data(as_text=True)
    assert html.count("Retry all 2") == 1
    assert "Retry all 1" in html
    assert "Traceback" not in html, "stack traces are not in the list"
    trace = client.get(f"/dashboard/jobs/{a}/attempts").get_data(as_text=True)
    assert "Traceback (most recent call last)" in trace
    assert b in html


def test_group_and_bulk_retry(app, client, auth):
    ids = [failed_job(app, client, auth, f"boom {i}") for i in range(3)]
    other = failed_job(app, client, auth, "different failure")
    login(client)
    token = page_token(client)
    from webapp.jobs.signatures import error_signature

    signature = error_signature("ProviderError", "e1", "boom 0")
    response = client.post(
        f"/dashboard/failed/groups/{signature}/retry", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert "retried=3" in response.headers["Location"]
    with app.app_context():
        statuses = {i: db.session.get(VideoJob, i).status for i in ids + [other]}
    assert statuses == {**{i: "queued" for i in ids}, other: "failed"}
    bulk = client.post("/dashboard/failed/retry", data={"csrf_token": token, "job_id": [other]})
    assert "retried=1" in bulk.headers["Location"]


def test_job_detail_and_status_fragment_stop_polling_when_final(app, client, auth, worker, settle):
    job_id = client.post(
        "/v1/videos", json={"prompt": "watch me", "seconds": "1", "size": "320x180"}, headers=auth
    ).get_json()["id"]
    login(client)
    settle([job_id])
    fragment = client.get(f"/dashboard/jobs/{job_id}/status").get_data(as_text=True)
    assert 'data-status="completed"' in fragment
    assert "hx-trigger" not in fragment
    assert "<video" in fragment
    media = client.get(f"/dashboard/jobs/{job_id}/media/video", headers={"Range": "bytes=0-9"})
    assert media.status_code == 206
    with app.app_context():
        job = db.session.get(VideoJob, job_id)
        job.status = "in_progress"
        db.session.commit()
    polling = client.get(f"/dashboard/jobs/{job_id}/status").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in polling


def test_user_text_is_escaped_everywhere(app, client, auth):
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    client.post("/v1/videos", json={"prompt": payload}, headers=auth)
    job_id = failed_job(app, client, auth, payload)
    login(client)
    for path in [
        "/dashboard/jobs",
        "/dashboard/failed",
        f"/dashboard/jobs/{job_id}",
        f"/dashboard/jobs/{job_id}/attempts",
        f"/dashboard/jobs/{job_id}/status",
    ]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html, path
        assert "<img src=x" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(
        f"/dashboard/jobs/{job_id}"
    ).get_data(as_text=True)


def test_clients_page_creates_a_key_once_and_revokes(app, client):
    login(client)
    token = page_token(client)
    created = client.post("/dashboard/clients", data={"csrf_token": token, "name": "mobile"})
    html = created.get_data(as_text=True)
    key = re.search(r'id="new-key">([^<]+)<', html).group(1)
    assert client.get("/v1/videos", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key not in client.get("/dashboard/clients").get_data(as_text=True), "shown once"
    from webapp.clients.models import ApiClient

    with app.app_context():
        client_id = db.session.scalars(db.select(ApiClient).filter_by(name="mobile")).one().id
    client.post(f"/dashboard/clients/{client_id}/revoke", data={"csrf_token": token})
    assert client.get("/v1/videos", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    audit = client.get("/dashboard/audit").get_data(as_text=True)
    assert "client.create" in audit and "client.revoke" in audit and "login" in audit


def test_security_headers(client):
    response = client.get("/dashboard/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    ["/dashboard/jobs?status=bogus", "/dashboard/jobs?limit=100000", "/dashboard/jobs?after=<x>"],
)
def test_bad_dashboard_filters_are_400(client, path):
    login(client)
    assert client.get(path).status_code == 400


def test_login_page_has_csrf_field(client):
    assert csrf_from(client.get("/dashboard/login").get_data(as_text=True))


def test_final_status_fragment_triggers_a_details_refresh(app, client, auth, worker, settle):
    job_id = client.post(
        "/v1/videos", json={"prompt": "refresh", "seconds": "1", "size": "320x180"}, headers=auth
    ).get_json()["id"]
    login(client)
    settle([job_id])
    status = client.get(f"/dashboard/jobs/{job_id}/status")
    assert status.headers["HX-Trigger"] == "job-final"
    details = client.get(f"/dashboard/jobs/{job_id}/details").get_data(as_text=True)
    assert 'id="job-details"' in details and "Finished" in details
    page = client.get(f"/dashboard/jobs/{job_id}").get_data(as_text=True)
    assert 'hx-trigger="job-final from:body"' in page
