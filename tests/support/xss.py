"""An XSS corpus and the data it is planted in, shared by the server-side check
(tests/security/test_xss_corpus.py) and the headless-Chromium check
(tests/browser/test_xss_browser.py).

Each payload is planted as a prompt, a metadata key and value, a storyboard title, character
and scene, a client name, a provider error (code, message, attempt name, stack, worker), a
storyboard compile error and a webhook delivery error. :func:`structure` reads a page the way
a browser's parser would, so a payload that escaped its text context shows up as a new tag,
attribute, URL or htmx trigger -- whatever the exact escaping looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from tests.support.dashboard import login, page_token

# Every alert()/confirm() carries its payload's number, so a dialog names its source.
PAYLOADS: list[str] = [
    "<script>alert(1)</script>",
    '"><script>alert(2)</script>',
    "'><script>alert(3)</script>",
    "<img src=x onerror=alert(4)>",
    "<svg onload=alert(5)>",
    "<svg/onload=alert(6)>",
    "<svg><script>alert(7)</script></svg>",
    '<iframe srcdoc="<script>alert(8)</script>"></iframe>',
    '<iframe src="javascript:alert(9)"></iframe>',
    "javascript:alert(10)",
    '<a href="javascript:alert(11)">click me 11</a>',
    "<body onload=alert(12)>",
    "<details open ontoggle=alert(13)>",
    "<input autofocus onfocus=alert(14)>",
    "<x onmouseover=alert(15)>hover 15</x>",
    "{{7*7}}",
    "{{ 1337*1000 }}",
    "{% for x in range(3) %}ssti{% endfor %}",
    "{% raw %}<script>alert(19)</script>{% endraw %}",
    "{{ config.SECRET_KEY }}{{ config }}",
    '<div hx-get="/dashboard/clients" hx-trigger="load">hx 21</div>',
    '<div hx-get="/dashboard/audit?xss=hx-get-22" hx-trigger="load" hx-target="body">x</div>',
    '<button hx-post="/dashboard/logout" hx-trigger="load">hx 23</button>',
    '<div hx-on:htmx:load="alert(24)">hx-on 24</div>',
    '<div hx-on="htmx:load: alert(25)">hx-on 25</div>',
    '<img src="/static/xss-26.png" hx-on::load="confirm(26)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(27)>",
    "<style>@import '//evil.example/xss-28.css';</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(29)">',
    '<base href="//evil.example/xss-30/">',
    '<object data="javascript:alert(31)"></object>',
    '<form action="//evil.example/xss-32"><button>go 32</button></form>',
    "safe text \u202egnp.exe\u202c and \u202e<script>alert(33)</script>",
    "</textarea></title></code></pre><script>alert(34)</script>",
    "--><script>alert(35)</script><!--",
    "&lt;script&gt;alert(36)&lt;/script&gt;",
    "\\u003cscript\\u003ealert(37)\\u003c/script\\u003e",
    "<scr<script>ipt>alert(38)</script>",
    "nul \x00<script>alert(39)</script>",
]
NUL_PAYLOADS = [p for p in PAYLOADS if "\x00" in p]
RENDERED = [p for p in PAYLOADS if "\x00" not in p]
# What a template engine evaluating a payload would print.
SSTI_RESULTS = ("1337000", "sstisstissti")
# URLs only an injected element would request.
INJECTED_MARKERS = ("xss-", "evil.example", "javascript:")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "hx-get", "hx-post", "data")
LEGIT_TRIGGERS = {
    "every 1s",
    "every 3s",
    "click once",
    "job-final from:body",
    "change, submit, keyup changed delay:400ms from:#q",
}


@dataclass
class Planted:
    """Where each payload went: its failed job, storyboard (and scene), client and
    delivery; plus the signature of its failure group."""

    jobs: dict[str, str] = field(default_factory=dict)
    scenes: dict[str, str] = field(default_factory=dict)
    boards: dict[str, str] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)

    def pages(self) -> list[str]:
        """Every dashboard page and fragment that shows planted text."""
        paths = [
            "/dashboard/",
            "/dashboard/jobs?limit=100",
            "/dashboard/failed",
            "/dashboard/storyboards",
            "/dashboard/clients",
            "/dashboard/audit",
            "/dashboard/webhooks",
        ]
        for payload, job_id in self.jobs.items():
            paths += [
                f"/dashboard/jobs/{job_id}",
                f"/dashboard/jobs/{job_id}/status",
                f"/dashboard/jobs/{job_id}/attempts",
                f"/dashboard/jobs/{self.scenes[payload]}",
                f"/dashboard/storyboards/{self.boards[payload]}",
                f"/dashboard/failed?signature={self.signatures[payload]}",
            ]
        return paths


def _fail(job, payload: str, attempt: int = 1) -> None:
    from webapp.jobs.models import JobAttempt
    from webapp.jobs.signatures import error_signature
    from webapp.timeutil import utcnow

    name = payload[:128]
    job.status, job.attempts, job.completed_at = "failed", attempt, utcnow()
    job.error_code, job.error_message = payload[:64], payload
    job.error_signature = error_signature(name, payload[:64], payload)
    job.job_metadata = {"error": {"name": name, "message": payload, "code": payload[:64]}}
    job.attempt_records.append(
        JobAttempt(
            attempt=attempt,
            name=name,
            message=payload,
            code=payload[:64],
            provider="local",
            retryable=False,
            worker=payload[:96],
            stack=f'Traceback (most recent call last):\n  File "x.py", line 1\n{name}: {payload}',
        )
    )


def plant(app, client, auth, payloads: list[str], *, address: str = "10.66.0.1") -> Planted:
    """Plant ``payloads`` everywhere user or provider text reaches the dashboard."""
    from webapp.extensions import db
    from webapp.jobs.models import VideoJob
    from webapp.storyboards.models import Storyboard
    from webapp.webhooks.models import WebhookDelivery, WebhookEvent

    planted = Planted()
    endpoint = client.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/xss"}, headers=auth
    ).get_json()["id"]
    for payload in payloads:
        video = client.post(
            "/v1/videos",
            json={
                "prompt": payload,
                "seconds": "1",
                "size": "320x180",
                "metadata": {"note": payload, payload[:64]: "key"},
            },
            headers=auth,
        )
        assert video.status_code == 201, (payload, video.get_json())
        board = client.post(
            "/v1/storyboards",
            json={
                "title": payload[:200],
                "character": payload,
                "style": "noir",
                "scenes": [payload],
                "metadata": {"note": payload},
                "seconds": "1",
                "size": "320x180",
            },
            headers=auth,
        )
        assert board.status_code == 201, (payload, board.get_json())
        planted.jobs[payload] = video.get_json()["id"]
        planted.boards[payload] = board.get_json()["id"]
        planted.scenes[payload] = board.get_json()["scenes"][0]["id"]
    with app.app_context():
        for index, payload in enumerate(payloads):
            job = db.session.get(VideoJob, planted.jobs[payload])
            _fail(job, payload)
            planted.signatures[payload] = job.error_signature
            _fail(db.session.get(VideoJob, planted.scenes[payload]), payload, attempt=2)
            board = db.session.get(Storyboard, planted.boards[payload])
            board.compile_status, board.compile_error = "failed", payload
            event = WebhookEvent(
                id=f"msg_xss_{address}_{index}",
                client_id=None,
                type="video.failed",
                payload={"data": payload},
            )
            db.session.add(event)
            db.session.flush()
            db.session.add(
                WebhookDelivery(
                    event_id=event.id,
                    endpoint_id=endpoint,
                    status="failed",
                    attempts=3,
                    last_status_code=500,
                    last_error=payload,
                )
            )
        db.session.commit()
    operator = app.test_client()
    assert login(operator, address=address).status_code == 302
    token = page_token(operator)
    for payload in payloads:
        created = operator.post("/dashboard/clients", data={"csrf_token": token, "name": payload})
        assert created.status_code == 200, payload
    with app.app_context():
        from webapp.clients.models import ApiClient

        for client_row in db.session.scalars(db.select(ApiClient)):
            planted.clients[client_row.name] = client_row.id
    return planted


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: set[tuple[str, str]] = set()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.pairs.add((tag, ""))
        for name, value in attrs:
            self.pairs.add((tag, name))
            value = (value or "").strip()
            lowered = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            if name.startswith("on") or name.startswith("hx-on") or name == "srcdoc":
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and (
                lowered.startswith(("javascript:", "data:text", "vbscript:", "//"))
                or not (value.startswith("/") or value in ("", "#"))
                or any(marker in lowered for marker in INJECTED_MARKERS)
            ):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in ("hx-get", "hx-post") and value in (
                "/dashboard/clients",
                "/dashboard/logout",
            ):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "hx-trigger" and value not in LEGIT_TRIGGERS:
                self.problems.append(f"<{tag} hx-trigger={value!r}>")
        if tag == "script" and not dict(attrs).get("src", "").startswith("/static/"):
            self.problems.append("<script> without a static src")
        if tag in ("iframe", "object", "embed", "base", "math", "style", "frame", "frameset"):
            self.problems.append(f"<{tag}>")
        if tag == "meta" and any(n == "http-equiv" for n, _ in attrs):
            self.problems.append("<meta http-equiv>")


def structure(html: str) -> tuple[set[tuple[str, str]], list[str]]:
    """``(tag, attribute)`` pairs the page creates, and anything that looks injected."""
    parser = _Structure()
    parser.feed(html)
    parser.close()
    return parser.pairs, parser.problems
