"""The ``openai`` provider against a local fake of the OpenAI Videos endpoint, over real HTTP:
request shape, status mapping, the error taxonomy (retryable vs. permanent), and ``generate``
(download, remember-once, resume without resubmitting, cancel on abandon)."""

from __future__ import annotations

import email.utils
import os
import time

import httpx
import pytest

from tests.fakes.openai_videos import FakeVideosServer
from worker.providers.base import JobAbandoned, ProviderError, VideoSpec
from worker.providers.openai_compat import (
    CAPABILITIES,
    OpenAICompatProvider,
    error_from_response,
    parse_retry_after,
)

KEY = "sk-test-0123456789"


class RecordingContext:
    """A ``JobContext`` that records progress and remembered ids; optionally abandons."""

    def __init__(self, provider_job_id: str | None = None, abandon_at: float | None = None):
        self.provider_job_id = provider_job_id
        self.abandon_at = abandon_at
        self.progress_calls: list[float] = []
        self.remembered: list[str] = []

    def progress(self, percent: float) -> None:
        self.progress_calls.append(percent)
        if self.abandon_at is not None and percent >= self.abandon_at:
            raise JobAbandoned("cancelled by the test")

    def remember_provider_job(self, provider_job_id: str) -> None:
        self.remembered.append(provider_job_id)
        self.provider_job_id = provider_job_id


def spec(prompt: str = "a storm over the sea", **overrides) -> VideoSpec:
    values = {"model": "sora-2", "seconds": 8, "size": "1280x720", **overrides}
    return VideoSpec("video_job1", prompt, values["model"], values["seconds"], values["size"])


@pytest.fixture
def fake():
    with FakeVideosServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def provider(fake):
    provider = OpenAICompatProvider(base_url=fake.url, api_key=KEY, poll_interval=0.01)
    yield provider
    provider.close()


def raised(call, *args) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        call(*args)
    return info.value


def leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


# -- request shape and status mapping -------------------------------------------------------


def test_capabilities_are_the_sora_table():
    assert OpenAICompatProvider.capabilities is CAPABILITIES
    assert CAPABILITIES.models == ("sora-2", "sora-2-pro")
    assert CAPABILITIES.seconds == (4, 8, 12)
    assert CAPABILITIES.sizes == ("720x1280", "1280x720", "1024x1792", "1792x1024")
    assert (CAPABILITIES.default_model, CAPABILITIES.default_seconds) == ("sora-2", 4)
    assert CAPABILITIES.default_size == "1280x720"
    assert OpenAICompatProvider.name == "openai"


def test_submit_posts_multipart_fields_with_the_bearer_key(fake, provider):
    video_id = provider.submit(spec(model="sora-2-pro", seconds=12, size="1024x1792"))

    assert video_id.startswith("video_") and video_id in fake.jobs
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/videos")
    assert request.content_type.startswith("multipart/form-data; boundary=")
    assert request.body == {
        "prompt": "a storm over the sea",
        "model": "sora-2-pro",
        "seconds": "12",
        "size": "1024x1792",
    }
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    job = fake.jobs[video_id]
    assert (job.model, job.seconds, job.size) == ("sora-2-pro", "12", "1024x1792")


def test_status_reports_increasing_progress_then_completed(fake, provider):
    fake.polls_to_complete = 4
    video_id = provider.submit(spec())

    states = [provider.status(video_id) for _ in range(4)]

    assert [(s.status, s.progress) for s in states] == [
        ("in_progress", 25),
        ("in_progress", 50),
        ("in_progress", 75),
        ("completed", 100),
    ]
    assert all(s.error_code is None and s.error_message is None for s in states)
    assert fake.requests[-1].path == f"/v1/videos/{video_id}"


def test_status_of_a_failed_generation_carries_the_error(fake, provider):
    fake.fail_generation("moderation_blocked", "The prompt was blocked by policy.")
    video_id = provider.submit(spec())

    state = provider.status(video_id)

    assert (state.status, state.error_code) == ("failed", "moderation_blocked")
    assert state.error_message == "The prompt was blocked by policy."


# -- error taxonomy over HTTP ---------------------------------------------------------------


def test_429_is_retryable_rate_limited_with_retry_after(fake, provider):
    fake.fail_next_submits(1, status=429, retry_after=7)

    error = raised(provider.submit, spec())

    assert (error.code, error.retryable, error.status, error.retry_after) == (
        "rate_limited",
        True,
        429,
        7.0,
    )
    assert "429" in error.message and "scripted 429" in error.message
    assert provider.submit(spec()).startswith("video_")  # the script is used up
    assert fake.submits() == 2


def test_429_with_an_http_date_retry_after(fake, provider):
    fake.fail_next_submits(1, status=429, retry_after=email.utils.formatdate(time.time() + 30))

    error = raised(provider.submit, spec())

    assert error.retryable and error.code == "rate_limited"
    assert 25 <= error.retry_after <= 31


def test_500_is_retryable_and_keeps_the_status(fake, provider):
    video_id = provider.submit(spec())
    fake.fail_next(1, status=500)

    error = raised(provider.status, video_id)

    assert (error.retryable, error.status, error.code) == (True, 500, "http_500")
    assert provider.status(video_id).status == "completed"


def test_503_retry_after_is_honoured(fake, provider):
    fake.fail_next(1, status=503, retry_after=2)

    error = raised(provider.submit, spec())

    assert (error.retryable, error.status, error.retry_after) == (True, 503, 2.0)


def test_401_is_permanent_auth_failure_and_never_leaks_the_key(fake):
    wrong = "sk-wrong-secret-987654321"
    provider = OpenAICompatProvider(base_url=fake.url, api_key=wrong, poll_interval=0.01)

    error = raised(provider.submit, spec())

    assert (error.code, error.retryable, error.status) == ("provider_auth_failed", False, 401)
    assert "Incorrect API key provided" in error.message
    assert wrong not in error.message and wrong not in str(error)
    assert fake.jobs == {}


def test_no_key_sends_no_authorization_header(fake):
    provider = OpenAICompatProvider(base_url=fake.url, api_key=None)

    error = raised(provider.submit, spec())

    assert (error.code, error.status) == ("provider_auth_failed", 401)
    assert "Authorization" not in fake.requests[-1].headers


def test_400_uses_the_code_from_the_error_envelope(fake, provider):
    error = raised(provider.submit, spec(size="999x999"))

    assert (error.code, error.retryable, error.status) == ("invalid_value", False, 400)
    assert "Invalid value: '999x999'" in error.message


def test_scripted_policy_rejection_at_submit_is_permanent(fake, provider):
    fake.fail_next_submits(
        1, status=400, retry_after=None, code="moderation_blocked", message="Blocked."
    )

    error = raised(provider.submit, spec())

    assert (error.code, error.retryable, error.status) == ("moderation_blocked", False, 400)


def test_unknown_job_is_a_permanent_404(provider):
    error = raised(provider.status, "video_nope")

    assert (error.retryable, error.status, error.code) == (False, 404, "not_found")


def test_timeout_is_retryable_provider_timeout(fake):
    fake.delay = 0.5
    provider = OpenAICompatProvider(base_url=fake.url, api_key=KEY, timeout=0.1)

    error = raised(provider.submit, spec())

    assert (error.code, error.retryable) == ("provider_timeout", True)


def test_unreachable_endpoint_is_retryable_provider_unavailable():
    server = FakeVideosServer()
    url = server.url
    server.stop()  # the port is closed now
    provider = OpenAICompatProvider(base_url=url, api_key=KEY)

    error = raised(provider.submit, spec())

    assert (error.code, error.retryable, error.status) == ("provider_unavailable", True, None)


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable"),
    [
        (400, None, "invalid_request", False),
        (400, {"error": {"message": "bad", "code": None}}, "invalid_request", False),
        (
            422,
            {"error": {"message": "policy", "code": "moderation_blocked"}},
            "moderation_blocked",
            False,
        ),
        (403, {"error": {"message": "forbidden", "code": "x"}}, "provider_auth_failed", False),
        (404, None, "invalid_request", False),
        (408, None, "provider_timeout", True),
        (409, None, "provider_unavailable", True),
        (502, None, "provider_unavailable", True),
        (504, None, "provider_timeout", True),
        (500, {"error": {"message": "boom", "code": "server_error"}}, "server_error", True),
        (
            429,
            {"error": {"message": "slow down", "code": "rate_limit_exceeded"}},
            "rate_limited",
            True,
        ),
    ],
)
def test_error_mapping_table(status, body, code, retryable):
    response = (
        httpx.Response(status, json=body)
        if body is not None
        else httpx.Response(status, text="<html>gateway says no</html>")
    )

    error = error_from_response(response)

    assert (error.code, error.retryable, error.status) == (code, retryable, status)
    assert str(status) in error.message


def test_parse_retry_after():
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("inf") is None
    assert parse_retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0
    ahead = parse_retry_after(email.utils.formatdate(time.time() + 120, usegmt=True))
    assert 115 <= ahead <= 121


def test_retry_after_ms_wins():
    response = httpx.Response(429, headers={"retry-after-ms": "1500", "Retry-After": "9"})
    assert error_from_response(response).retry_after == 1.5


# -- download and cancel --------------------------------------------------------------------


def test_download_before_completion_is_asset_not_ready_and_leaves_nothing(fake, provider, tmp_path):
    fake.polls_to_complete = 100
    video_id = provider.submit(spec())

    error = raised(provider.download, video_id, "video", tmp_path / "video.mp4")

    assert (error.code, error.retryable, error.status) == ("asset_not_ready", True, 404)
    assert os.listdir(tmp_path) == []
    assert fake.requests[-1].query == {"variant": "video"}


def test_cancel_posts_cancel(fake, provider):
    fake.polls_to_complete = 100
    video_id = provider.submit(spec())

    provider.cancel(video_id)

    assert fake.requests[-1][:2] == ("POST", f"/v1/videos/{video_id}/cancel")
    assert fake.jobs[video_id].status == "cancelled"


def test_cancel_falls_back_to_delete_without_a_cancel_route(fake, provider):
    fake.cancel_supported = False
    video_id = provider.submit(spec())

    provider.cancel(video_id)

    assert [r[:2] for r in fake.requests[-2:]] == [
        ("POST", f"/v1/videos/{video_id}/cancel"),
        ("DELETE", f"/v1/videos/{video_id}"),
    ]
    assert video_id not in fake.jobs


def test_cancel_never_raises(fake, provider):
    provider.cancel("video_missing")  # 404 then 404
    fake.fail_next(1, status=500)
    provider.cancel("video_missing")  # 500
    server = FakeVideosServer()
    server.stop()
    OpenAICompatProvider(base_url=server.url, api_key=KEY).cancel("video_x")  # unreachable


# -- generate -------------------------------------------------------------------------------


def test_generate_downloads_both_variants_and_remembers_the_job_once(tmp_path):
    video = os.urandom(300_000)  # several chunks
    thumbnail = b"\xff\xd8\xff\xe0 thumb \xff\xd9"
    with FakeVideosServer(api_key=KEY, video_bytes=video, thumbnail_bytes=thumbnail) as fake:
        fake.polls_to_complete = 3
        provider = OpenAICompatProvider(base_url=fake.url, api_key=KEY, poll_interval=0.01)
        ctx = RecordingContext()

        assets = provider.generate(spec(), ctx, tmp_path)

        assert fake.submits() == 1
        assert ctx.remembered == [ctx.provider_job_id] and ctx.provider_job_id in fake.jobs
    assert ctx.progress_calls == [33, 66]
    assert assets.video == tmp_path / "video.mp4"
    assert assets.thumbnail == tmp_path / "thumbnail.jpg"
    assert assets.video.read_bytes() == video
    assert assets.thumbnail.read_bytes() == thumbnail
    assert leftovers(tmp_path) == []


def test_generate_without_a_thumbnail_still_delivers_the_video(tmp_path):
    with FakeVideosServer(api_key=KEY, thumbnail_bytes=None) as fake:
        provider = OpenAICompatProvider(base_url=fake.url, api_key=KEY, poll_interval=0.01)

        assets = provider.generate(spec(), RecordingContext(), tmp_path)

    assert assets.thumbnail is None
    assert assets.video.read_bytes() == fake.video_bytes
    assert sorted(os.listdir(tmp_path)) == ["video.mp4"]


def test_generate_of_a_failed_generation_raises_permanent_error_with_its_context(
    fake, provider, tmp_path
):
    fake.polls_to_complete = 2
    fake.fail_generation("moderation_blocked", "The prompt was blocked by policy.")
    ctx = RecordingContext()

    error = raised(provider.generate, spec(), ctx, tmp_path)

    assert (error.code, error.retryable) == ("moderation_blocked", False)
    assert error.message == "The prompt was blocked by policy."
    assert fake.submits() == 1 and len(ctx.remembered) == 1
    assert os.listdir(tmp_path) == []


def test_generate_resumes_a_stored_job_without_resubmitting(fake, provider, tmp_path):
    fake.polls_to_complete = 2
    video_id = provider.submit(spec())
    fake.requests.clear()
    ctx = RecordingContext(provider_job_id=video_id)

    assets = provider.generate(spec(), ctx, tmp_path)

    assert fake.submits() == 0
    assert ctx.remembered == []
    assert ("GET", f"/v1/videos/{video_id}", {}) in fake.requests
    assert assets.video.read_bytes() == fake.video_bytes


def test_a_poll_error_propagates_retryable_and_the_redelivery_resumes(fake, provider, tmp_path):
    fake.polls_to_complete = 3
    ctx = RecordingContext()
    video_id = provider.submit(spec())
    ctx.provider_job_id = video_id
    fake.fail_next(1, status=502)

    error = raised(provider.generate, spec(), ctx, tmp_path)

    assert (error.retryable, error.status) == (True, 502)
    # the redelivery resumes the same remote job
    assets = provider.generate(spec(), ctx, tmp_path)
    assert assets.video.exists() and fake.submits() == 1


def test_abandoned_job_cancels_the_remote_job_and_reraises(fake, provider, tmp_path):
    fake.polls_to_complete = 1000
    ctx = RecordingContext(abandon_at=0)

    with pytest.raises(JobAbandoned):
        provider.generate(spec(), ctx, tmp_path)

    video_id = ctx.provider_job_id
    assert ("POST", f"/v1/videos/{video_id}/cancel", {}) in fake.requests
    assert fake.jobs[video_id].status == "cancelled"
    assert fake.submits() == 1
    assert os.listdir(tmp_path) == []
