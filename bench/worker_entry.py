"""``dramatiq bench.worker_entry``: the real worker (broker, middleware, actors, pipeline)
plus a start gate. The ``null`` provider comes from ``ENABLE_TEST_PROVIDERS=true``."""

from __future__ import annotations

import os

from bench.gate import StartGate
from worker import actors  # noqa: E402, F401  (declares the queues)
from worker.broker import app_context_middleware, broker  # noqa: E402


def warmup() -> None:
    """Create the app and open a database connection before the gate opens (the first
    message would otherwise pay for ``create_app``)."""
    from sqlalchemy import text

    from webapp.extensions import db

    app = app_context_middleware(broker)._get_app()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.rollback()


broker.add_middleware(StartGate(os.environ["REDIS_URL"], warmup))
