"""The worker pipeline with the local renderer, on both backends (stub broker + SQLite, and
Redis + PostgreSQL): queued -> in_progress -> completed, real H.264 files, one asset per job
under duplicate delivery, progress writes, range downloads."""

from __future__ import annotations

import threading

import av
from sqlalchemy import event

from tests.conftest import media_files
from webapp.extensions import db
from webapp.jobs.models import VideoJob
from worker import actors
from worker.pipeline import RunContext, run_job


def create(client, auth, **body):
    body = {"prompt": "a blue whale", "seconds": "1", "size": "320x180", **body}
    response = client.post("/v1/videos", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_job_completes_and_the_file_is_h264_of_the_requested_duration_and_size(
    client, auth, app, worker, settle, tmp_path
):
    video_id = create(client, auth, seconds="2", size="640x360")
    assert settle([video_id]) == {video_id: "completed"}

    video = client.get(f"/v1/videos/{video_id}", headers=auth).get_json()
    assert video["progress"] == 100
    assert video["attempts"] == 1
    assert video["started_at"] <= video["completed_at"] < video["expires_at"]

    response = client.get(f"/v1/videos/{video_id}/content", headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "video/mp4"
    path = tmp_path / "downloaded.mp4"
    path.write_bytes(response.data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (640, 360)
        assert stream.frames == 48
        assert abs(container.duration / 1_000_000 - 2.0) < 0.05

    thumb = client.get(f"/v1/videos/{video_id}/content?variant=thumbnail", headers=auth)
    assert thumb.mimetype == "image/jpeg"
    assert thumb.data[:3] == b"\xff\xd8\xff"


def test_content_supports_range_requests(client, auth, worker, settle):
    video_id = create(client, auth)
    settle([video_id])
    whole = client.get(f"/v1/videos/{video_id}/content", headers=auth)
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"/v1/videos/{video_id}/content", headers={**auth, "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(whole.data)}"
    assert part.data == whole.data[:100]


def test_duplicate_deliveries_make_one_completion_and_one_asset(client, auth, app, worker, settle):
    video_id = create(client, auth)
    # Given the message delivered three times in all (the original plus two duplicates)
    actors.generate_video.send(video_id)
    actors.generate_video.send(video_id)
    settle([video_id])
    with app.app_context():
        job = db.session.get(VideoJob, video_id)
        assert (job.status, job.attempts) == ("completed", 1)
        files = sorted(
            p.name for p in media_files(__import__("pathlib").Path(app.config["MEDIA_ROOT"]))
        )
    assert files == ["thumbnail.jpg", "video.mp4"]


def test_concurrent_deliveries_only_one_claims(client, auth, app):
    video_id = create(client, auth)
    outcomes: list[str] = []

    def deliver():
        with app.app_context():
            outcomes.append(run_job(video_id))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["completed", "skipped", "skipped"]


def test_a_final_job_redelivered_is_acked_without_work(client, auth, app):
    video_id = create(client, auth)
    with app.app_context():
        assert run_job(video_id) == "completed"
        assert run_job(video_id) == "skipped"
        assert db.session.get(VideoJob, video_id).attempts == 1


def test_progress_is_written_only_when_it_advances(client, auth, app):
    video_id = create(client, auth, seconds="4")
    updates: list[str] = []

    def count_updates(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE VIDEO_JOBS"):
            updates.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count_updates)
        try:
            assert run_job(video_id) == "completed"
        finally:
            event.remove(db.engine, "before_cursor_execute", count_updates)
    frames = 4 * 24
    # claim + complete + at most one progress write per 0.5 s of rendering, never one per frame
    assert 2 <= len(updates) < frames // 4, len(updates)


def test_progress_never_goes_backwards(client, auth, app):
    video_id = create(client, auth)
    with app.app_context():
        from webapp.jobs import lifecycle

        job = lifecycle.claim(video_id, "me", lease_seconds=30)
        ctx = RunContext(job, "me", 30)
        ctx._last_write = 0  # allow an immediate write
        ctx.progress(60)
        assert lifecycle.save_progress(video_id, "me", progress=20, lease_seconds=30)
        db.session.expire_all()
        assert db.session.get(VideoJob, video_id).progress == 60
