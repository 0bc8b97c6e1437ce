"""The XSS corpus of tests/support/xss.py planted in every place user or provider text reaches
the dashboard; every page and fragment must show it as inert text.

A benign corpus planted the same way first gives the page structure (which tags and
attributes the templates make). With the hostile corpus planted too, no page may gain a tag
or attribute, no URL may point anywhere the templates do not, no raw payload may appear,
and no template expression may be evaluated. NUL is refused at the door (400/422)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from markupsafe import escape

from tests.support.dashboard import ADMIN_KEY, csrf_from, login, page_token
from tests.support.xss import (
    NUL_PAYLOADS,
    PAYLOADS,
    RENDERED,
    SSTI_RESULTS,
    plant,
    structure,
)
from webapp.extensions import db

BENIGN = ["plain words one", "plain words two", "plain words three"]


def test_the_corpus_is_big_and_varied():
    assert len(PAYLOADS) >= 25
    text = "".join(PAYLOADS)
    for needle in (
        "<script",
        "onerror=",
        "javascript:",
        "{{7*7}}",
        "{% raw %}",
        "hx-get=",
        "hx-on",
        "<svg",
        "srcdoc",
        "\u202e",
        "\x00",
    ):
        assert needle in text, needle


def fetch(client, path: str, htmx: bool = False):
    response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def raw_leaks(html: str) -> list[str]:
    """Payloads (with markup in them) that appear unescaped."""
    return [p for p in RENDERED if any(c in p for c in "<>\"'") and p in html]


def test_planted_payloads_are_inert_on_every_page(app, client, auth):
    benign = plant(app, client, auth, BENIGN, address="10.66.0.1")
    operator = app.test_client()
    assert login(operator, address="10.66.0.2").status_code == 302
    baseline: set[tuple[str, str]] = set()
    for path in benign.pages():
        for htmx in (False, True):
            pairs, problems = structure(fetch(operator, path, htmx))
            assert not problems, (path, problems)
            baseline |= pairs

    hostile = plant(app, client, auth, RENDERED, address="10.66.0.3")
    secret = app.config["SECRET_KEY"]
    pages = (
        hostile.pages()
        + [f"/dashboard/jobs?limit=100&q={quote(p[:200])}" for p in RENDERED]
        + [f"/dashboard/failed?signature={quote(p)}" for p in RENDERED]
    )
    checked = 0
    for path in pages:
        for htmx in (False, True):
            html = fetch(operator, path, htmx)
            pairs, problems = structure(html)
            assert not problems, (path, htmx, problems)
            assert pairs <= baseline, (path, htmx, sorted(pairs - baseline))
            assert not raw_leaks(html), (path, htmx, raw_leaks(html))
            for result in SSTI_RESULTS:
                assert result not in html, (path, result)
            assert secret not in html, path
            checked += 1
    assert checked > 400

    # the payloads are really on the pages (as escaped text), so the checks above mean something
    for payload in RENDERED:
        job_id = hostile.jobs[payload]
        detail = fetch(operator, f"/dashboard/jobs/{job_id}")
        assert str(escape(payload)) in detail, payload
        assert str(escape(payload)) in fetch(operator, f"/dashboard/jobs/{job_id}/attempts")
        assert str(escape(payload)) in fetch(operator, f"/dashboard/jobs/{job_id}/status")
        board = fetch(operator, f"/dashboard/storyboards/{hostile.boards[payload]}")
        assert str(escape(payload[:200])) in board, payload
    assert "{{7*7}}" in fetch(operator, f"/dashboard/jobs/{hostile.jobs['{{7*7}}']}")
    clients = fetch(operator, "/dashboard/clients")
    audit = fetch(operator, "/dashboard/audit")
    webhooks = fetch(operator, "/dashboard/webhooks")
    for payload in RENDERED:
        assert str(escape(payload[:128])) in clients, payload
        assert str(escape(payload)) in webhooks, payload
    assert "client.create" in audit and "\\u003cscript\\u003e" in audit, "names as JSON text"


def test_reflected_parameters_are_escaped(app, client):
    """Query parameters echoed into pages (search box, login ``next``, signature)."""
    anonymous = app.test_client()
    for payload in RENDERED:
        html = fetch(anonymous, f"/dashboard/login?next={quote(payload)}")
        pairs, problems = structure(html)
        assert not problems and not raw_leaks(html), (payload, problems)
    # after logging in, a hostile ``next`` never leaves the dashboard
    for target in (
        "javascript:alert(1)",
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/dashboard/../../evil",
    ):
        browser = app.test_client()
        page = browser.get(f"/dashboard/login?next={quote(target)}").get_data(as_text=True)
        response = browser.post(
            "/dashboard/login",
            data={"admin_key": ADMIN_KEY, "csrf_token": csrf_from(page), "next": target},
            environ_base={"REMOTE_ADDR": "10.66.0.4"},
        )
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert not location.scheme and not location.netloc, target
        assert location.path.startswith("/dashboard") and "\\" not in location.path, target


@pytest.mark.parametrize("payload", NUL_PAYLOADS, ids=["nul"])
def test_nul_is_refused_everywhere(app, client, auth, payload):
    refused = [
        client.post("/v1/videos", json={"prompt": payload}, headers=auth),
        client.post("/v1/videos", json={"prompt": "p", "metadata": {"k": payload}}, headers=auth),
        client.post("/v1/videos", json={"prompt": "p", "metadata": {payload: "v"}}, headers=auth),
        client.post(
            "/v1/videos",
            data={"prompt": payload},
            headers=auth,
            content_type="multipart/form-data",
        ),
        client.post("/v1/storyboards", json={"title": payload, "scenes": ["s"]}, headers=auth),
        client.post("/v1/storyboards", json={"title": "t", "scenes": [payload]}, headers=auth),
        client.post(
            "/v1/storyboards",
            json={"title": "t", "scenes": ["s"], "character": payload},
            headers=auth,
        ),
        client.post(
            "/v1/storyboards",
            json={"title": "t", "scenes": ["s"], "metadata": {"k": payload}},
            headers=auth,
        ),
        client.post(
            "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/" + payload}, headers=auth
        ),
    ]
    for response in refused:
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"]["type"] == "invalid_request_error"
    operator = app.test_client()
    assert login(operator, address="10.66.0.5").status_code == 302
    created = operator.post(
        "/dashboard/clients", data={"csrf_token": page_token(operator), "name": payload}
    )
    assert created.status_code == 422
    from webapp.clients.models import ApiClient
    from webapp.jobs.models import VideoJob

    with app.app_context():
        assert db.session.query(VideoJob).count() == 0
        assert db.session.query(ApiClient).count() == 1, "only the fixture's client"
