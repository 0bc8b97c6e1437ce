"""The dashboard in real headless Chromium: log in, overview, failed job stack trace and
one-click retry, a running job's progress reaching completed with the video loaded, and an
XSS prompt shown as inert text. Screenshots of each page land in test-artifacts/screenshots/."""

from __future__ import annotations

import time

from tests.browser.conftest import shot
from tests.support.dashboard import ADMIN_KEY
from tests.support.factories import gen_failure

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def sign_in(page, live):
    page.goto(f"{live.url}/dashboard/")
    assert "/dashboard/login" in page.url
    page.fill("#admin_key", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/dashboard/")


def create(client, auth, **body):
    body = {"prompt": "a lantern festival over a river", "seconds": "1", "size": "320x180", **body}
    return client.post("/v1/videos", json=body, headers=auth).get_json()["id"]


def make_failed(app, job_id, message):
    gen_failure(app, job_id, message, code="e500")


def test_login_and_overview(page, live, client, auth, worker, settle):
    settle([create(client, auth)])
    sign_in(page, live)
    page.wait_for_selector("#overview")
    assert page.locator("[data-status-count=completed]").inner_text() == "1"
    assert page.locator("text=Workers online").count() == 1
    shot(page, "01-overview")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "01b-overview-phone")
    assert page.dialogs == []


def test_failed_job_stack_trace_and_one_click_retry(page, live, app, client, auth, worker, settle):
    job_id = create(client, auth)
    settle([job_id])
    make_failed(app, job_id, "upstream answered 500: model overloaded")
    sign_in(page, live)
    page.goto(f"{live.url}/dashboard/failed")
    row = page.locator(f"#row-{job_id}")
    row.locator("details.lazy > summary").click()
    row.locator("pre.stack").wait_for(state="attached")
    row.locator(".trace summary").click()
    assert "Traceback (most recent call last)" in row.inner_text()
    shot(page, "02-failed-with-trace")
    row.get_by_role("button", name="Retry").click()
    page.locator(
        f"#row-{job_id} .status-queued, #row-{job_id} .status-in_progress, "
        f"#row-{job_id} .status-completed"
    ).first.wait_for()
    shot(page, "03-failed-after-retry")
    assert settle([job_id]) == {job_id: "completed"}


def test_progress_bar_reaches_completed_and_the_video_loads(page, live, client, auth, worker):
    sign_in(page, live)
    job_id = create(client, auth, seconds="12", size="1792x1024")
    page.goto(f"{live.url}/dashboard/jobs/{job_id}")
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = page.locator("#job-status").get_attribute("data-status")
        seen.add(status)
        if status == "completed":
            break
        time.sleep(0.1)
    assert "completed" in seen
    assert seen & {"queued", "in_progress"}, "the page showed the job before it finished"
    # Arrow functions, not bare expressions: Playwright re-polls a bare expression with
    # eval(), which the dashboard's CSP (script-src 'self') rightly refuses.
    page.wait_for_function(
        "() => document.querySelector('#player')?.readyState >= 1", timeout=15000
    )
    duration = page.evaluate("document.querySelector('#player').duration")
    assert abs(duration - 12) < 0.2
    assert page.locator("progress").get_attribute("value") == "100"
    shot(page, "04-job-completed")
    assert page.locator("#job-status").get_attribute("hx-trigger") is None, "polling stopped"


def test_script_prompt_is_text_and_triggers_no_dialog(page, live, app, client, auth):
    job_id = create(client, auth, prompt=XSS)
    make_failed(app, job_id, XSS)
    sign_in(page, live)
    for path, name in [
        ("/dashboard/jobs", "05-jobs"),
        (f"/dashboard/jobs/{job_id}", "06-job"),
        ("/dashboard/failed", "07-failed"),
    ]:
        page.goto(f"{live.url}{path}")
        page.wait_for_load_state("networkidle")
        assert XSS[:25] in page.inner_text("main"), path
        shot(page, name)
    page.goto(f"{live.url}/dashboard/failed")
    page.locator(f"#row-{job_id} details.lazy > summary").click()
    page.locator(f"#row-{job_id} pre.stack").wait_for(state="attached")
    time.sleep(0.3)
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0


def test_storyboard_page_shows_scenes_and_plays_the_film(page, live, client, auth, worker):
    board = client.post(
        "/v1/storyboards",
        headers=auth,
        json={
            "title": "Three little scenes",
            "size": "320x180",
            "seconds": "1",
            "style": "noir",
            "scenes": ["a cat on a roof", "rain on the window", "morning light"],
        },
    ).get_json()
    deadline = time.monotonic() + 60
    while (
        client.get(f"/v1/storyboards/{board['id']}", headers=auth).get_json()["status"]
        != "completed"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    sign_in(page, live)
    page.goto(f"{live.url}/dashboard/storyboards/{board['id']}")
    assert page.locator(".scene img").count() == 3
    page.wait_for_function("() => document.querySelector('#film')?.readyState >= 1", timeout=15000)
    assert abs(page.evaluate("document.querySelector('#film').duration") - 3) < 0.2
    shot(page, "08-storyboard")
