"""/metrics: admin key required; job, queue and latency figures in Prometheus format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.dashboard import ADMIN_KEY


def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_need_the_admin_key(client):
    assert client.get("/metrics").status_code == 401
    assert client.get(f"/metrics?key={ADMIN_KEY}").status_code == 401


def test_metrics_report_jobs_queue_and_latency(client, auth, worker, settle):
    ids = [
        client.post(
            "/v1/videos", json={"prompt": f"m{i}", "seconds": "1", "size": "320x180"}, headers=auth
        ).get_json()["id"]
        for i in range(2)
    ]
    settle(ids)
    client.post("/v1/videos", json={"prompt": ""}, headers=auth)  # a 400 to observe
    text = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).get_data(
        as_text=True
    )
    found = samples(text)
    assert found[("reelqueue_jobs_total", (("provider", "local"), ("status", "completed")))] == 2
    assert found[("reelqueue_job_duration_seconds_count", (("provider", "local"),))] == 2
    assert ("reelqueue_queue_messages", (("queue", "videos"), ("state", "waiting"))) in found
    assert found[("reelqueue_workers", ())] >= 1
    latency = [
        k
        for k in found
        if k[0] == "reelqueue_http_request_duration_seconds_count" and ("status", "400") in k[1]
    ]
    assert latency
