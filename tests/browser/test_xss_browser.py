"""The XSS corpus (tests/support/xss.py) in real headless Chromium: every dashboard page that
shows planted text -- and the stack traces htmx swaps in -- opens no dialog, runs no handler,
requests nothing an injected element asked for (``hx-get``, ``hx-post``, ``src``, CSS
``@import``), trips no CSP violation, and leaves the operator signed in."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from tests.support.dashboard import ADMIN_KEY
from tests.support.xss import INJECTED_MARKERS, RENDERED, plant

# Live DOM: anything an escaped payload could have created, after htmx has processed it.
INJECTED_DOM = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.getAttributeNames()) {
      const value = el.getAttribute(attr) || '';
      if (attr.startsWith('on') || attr.startsWith('hx-on') || attr === 'srcdoc') found.push(attr);
      if (attr === 'hx-trigger' && value.includes('load')) found.push(attr + '=' + value);
      if (/^\\s*javascript:/i.test(value)) found.push(attr + '=' + value);
    }
  }
  for (const el of document.querySelectorAll(
      'script:not([src]), iframe, object, embed, base, math, style, meta[http-equiv]')) {
    found.push(el.tagName);
  }
  return found;
}"""


def sign_in(page, live):
    page.goto(f"{live.url}/dashboard/login")
    page.fill("#admin_key", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/dashboard/")


def test_planted_payloads_stay_inert_in_chromium(page, live, app, client, auth):
    planted = plant(app, client, auth, RENDERED, address="10.55.0.1")
    requests: list[tuple[str, str, dict]] = []
    page.on("request", lambda r: requests.append((r.method, r.url, r.headers)))
    sign_in(page, live)

    def visit(path: str, settle: str = "load") -> None:
        page.goto(f"{live.url}{path}")
        page.wait_for_load_state(settle)
        time.sleep(0.05)  # let htmx process the page (an injected hx-trigger="load" fires now)
        injected = page.evaluate(INJECTED_DOM)
        assert injected == [], (path, injected)

    lists = [
        "/dashboard/",
        "/dashboard/jobs?limit=100",
        "/dashboard/storyboards",
        "/dashboard/clients",
        "/dashboard/audit",
        "/dashboard/webhooks",
    ]
    for path in lists:
        visit(path, "networkidle")

    # failed jobs: open every row's stack traces (htmx swaps the attempts fragment in)
    for path in ["/dashboard/failed"] + [
        f"/dashboard/failed?signature={planted.signatures[p]}" for p in RENDERED
    ]:
        visit(path)
        summaries = page.locator("details.lazy > summary")
        for index in range(summaries.count()):
            summaries.nth(index).click()
        page.wait_for_load_state("networkidle")
        assert page.locator("pre.stack").count() == summaries.count(), path
        injected = page.evaluate(INJECTED_DOM)
        assert injected == [], (path, injected)

    for payload in RENDERED:
        visit(f"/dashboard/jobs/{planted.jobs[payload]}")
        assert page.inner_text("dd.prompt") == payload, "the prompt is shown as text"
        visit(f"/dashboard/storyboards/{planted.boards[payload]}")
        visit(f"/dashboard/jobs/{planted.scenes[payload]}")

    assert page.dialogs == [], page.dialogs
    injected_requests = [
        (method, url)
        for method, url, _ in requests
        if any(marker in url for marker in INJECTED_MARKERS)
        or urlsplit(url).netloc != urlsplit(live.url).netloc
    ]
    assert injected_requests == []
    htmx_targets = {
        urlsplit(url).path for method, url, headers in requests if headers.get("hx-request")
    }
    assert any(path.endswith("/attempts") for path in htmx_targets), "htmx requests are seen"
    for path in htmx_targets:
        assert path.endswith("/attempts") or path == "/dashboard/overview/stats", path
    csp = [m for m in page.console_errors if "Content Security Policy" in m]
    assert csp == [], csp
    # no injected hx-post="/dashboard/logout" fired: still signed in
    page.goto(f"{live.url}/dashboard/")
    assert urlsplit(page.url).path == "/dashboard/"
    assert not any(urlsplit(url).path == "/dashboard/logout" for _, url, _ in requests)
