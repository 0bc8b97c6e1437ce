"""Logging in to the dashboard from a Flask test client, like a browser would."""

from __future__ import annotations

import re

ADMIN_KEY = "test-admin-key-" + "a" * 32
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client, key: str = ADMIN_KEY, *, address: str = "127.0.0.1"):
    page = client.get("/dashboard/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/dashboard/login",
        data={"admin_key": key, "csrf_token": token, "next": ""},
        environ_base={"REMOTE_ADDR": address},
    )


def page_token(client) -> str:
    """The CSRF token of the signed-in session (from any dashboard page)."""
    return csrf_from(client.get("/dashboard/clients").get_data(as_text=True))
