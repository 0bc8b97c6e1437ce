"""Creating a job on PostgreSQL + Redis: one transaction, and the row names its message.

The row is stamped with the Redis id its message will be stored under, in the INSERT's own
transaction, and the message is sent after the commit (``webapp.jobs.dispatch.prepare``).
"""

from __future__ import annotations

import json

import dramatiq
from sqlalchemy import event

from webapp.extensions import db
from webapp.jobs.models import VideoJob
from worker.actors import generate_video
from worker.broker import CHOSEN_ID

BODY = {"prompt": "one transaction", "seconds": "1", "size": "320x180"}


def test_a_create_commits_once_and_its_row_names_the_stored_message(app, client, auth, broker):
    client.post("/v1/videos", json=BODY, headers=auth)  # warm the auth path and pools
    commits = []

    def count(conn) -> None:
        commits.append(conn)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", count)
    try:
        response = client.post("/v1/videos", json=BODY, headers=auth)
    finally:
        event.remove(engine, "commit", count)
    assert response.status_code == 201
    assert len(commits) == 1, "INSERT, stamp and answer in one transaction"

    with app.app_context():
        job = db.session.get(VideoJob, response.get_json()["id"])
        assert job.dispatched_at is not None
    key = f"{broker.namespace}:{generate_video.queue_name}.msgs"
    stored = broker.client.hget(key, job.message_id)
    assert stored is not None, "Redis holds the message under the id on the row"
    message = json.loads(stored)
    assert message["args"] == [job.id]
    assert message["options"]["redis_message_id"] == job.message_id
    assert CHOSEN_ID not in message["options"], "the sender's choice is not passed on"
    assert broker.client.llen(f"{broker.namespace}:{generate_video.queue_name}") == 2


def test_a_consumed_message_sent_again_gets_a_fresh_id(app, client, auth, broker):
    """Only a sender's explicit choice is kept: re-sending a message read back from Redis
    (as Dramatiq's retries do) must not overwrite the original under the same id."""
    job_id = client.post("/v1/videos", json=BODY, headers=auth).get_json()["id"]
    with app.app_context():
        first = db.session.get(VideoJob, job_id).message_id
    key = f"{broker.namespace}:{generate_video.queue_name}.msgs"
    consumed = dramatiq.Message.decode(broker.client.hget(key, first))
    assert consumed.options["redis_message_id"] == first
    again = broker.enqueue(consumed)
    assert again.options["redis_message_id"] != first
    assert broker.client.hlen(key) == 2
