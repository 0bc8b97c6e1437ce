"""Fixtures for worker tests that talk to the fake OpenAI-compatible endpoint."""

from __future__ import annotations

import pytest

from tests.fakes.openai_videos import FakeVideosServer
from tests.support.factories import gen_mp4


@pytest.fixture(scope="session")
def real_mp4(tmp_path_factory) -> bytes:
    """A real 1-second H.264 MP4 for the fake provider to serve."""
    return gen_mp4(tmp_path_factory.mktemp("mp4"))


@pytest.fixture
def fake(real_mp4):
    with FakeVideosServer(api_key="sk-test", video_bytes=real_mp4) as server:
        yield server
