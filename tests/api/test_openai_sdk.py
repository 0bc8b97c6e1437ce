"""The official ``openai`` SDK, pointed at a live Reelqueue server, works unchanged."""

from __future__ import annotations

import openai
import pytest

from tests.support.server import LiveServer


@pytest.fixture
def sdk(app, api_client):
    with LiveServer(app) as server:
        yield openai.OpenAI(api_key=api_client.key, base_url=f"{server.url}/v1", max_retries=0)


def test_create_retrieve_list_with_the_sdk(sdk):
    created = sdk.videos.create(prompt="a paper boat on a river", seconds="4", size="640x360")
    assert created.id.startswith("video_")
    assert created.status == "queued"
    assert created.object == "video"

    fetched = sdk.videos.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.prompt == "a paper boat on a river"

    second = sdk.videos.create(prompt="a second one")
    page = sdk.videos.list(limit=1)
    assert [v.id for v in page.data] == [second.id]
    assert page.has_more is True
    ids = [v.id for v in sdk.videos.list(limit=1)]  # auto-pagination follows `after`
    assert ids == [second.id, created.id]


def test_sdk_errors_map_to_its_exceptions(sdk):
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve("video_doesnotexist")
    with pytest.raises(openai.BadRequestError) as info:
        sdk.videos.create(prompt="x", seconds="5")
    assert "seconds" in str(info.value)


def test_sdk_with_a_wrong_key_is_authentication_error(app):
    with LiveServer(app) as server:
        bad = openai.OpenAI(api_key="rq_wrong", base_url=f"{server.url}/v1", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.videos.list()


def test_sdk_delete(sdk):
    video = sdk.videos.create(prompt="to delete")
    deleted = sdk.videos.delete(video.id)
    assert deleted.deleted is True
    assert deleted.id == video.id


def test_create_and_poll_then_download_with_the_sdk(sdk, worker, tmp_path):
    video = sdk.videos.create_and_poll(
        prompt="a kite in the wind", seconds="1", size="320x180", poll_interval_ms=100
    )
    assert video.status == "completed"
    assert video.progress == 100
    path = tmp_path / "kite.mp4"
    sdk.videos.download_content(video.id).write_to_file(path)
    assert path.read_bytes()[4:8] == b"ftyp"
