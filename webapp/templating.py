"""Template filters and globals for the dashboard."""

from __future__ import annotations

import time
from datetime import datetime

from flask import Flask

from webapp.timeutil import utcnow


def humanize_seconds(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def ago(value: datetime | None, suffix: bool = True) -> str:
    if value is None:
        return "—"
    delta = (utcnow() - value).total_seconds()
    text = humanize_seconds(delta)
    if not suffix:
        return text
    return f"{text} ago" if delta >= 0 else f"in {text}"


def unix_ago(value: float | None, suffix: bool = True) -> str:
    if value is None:
        return "—"
    text = humanize_seconds(time.time() - value)
    return f"{text} ago" if suffix else text


def register_template_helpers(app: Flask) -> None:
    from webapp.dashboard.sessions import csrf_token

    app.add_template_filter(ago, "ago")
    app.add_template_filter(unix_ago, "unix_ago")
    app.add_template_global(csrf_token, "csrf_token")
