"""Fixtures shared by the process-level integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis


@pytest.fixture
def redis_db_url(request) -> Iterator[str]:
    """The module's own Redis database (``REDIS_DB_URL``), emptied before and after."""
    url = request.module.REDIS_DB_URL
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()
