"""The worker's own Prometheus endpoint (Dramatiq's middleware) with WORKER_METRICS=true:
message counts and durations from real worker processes."""

from __future__ import annotations

import time
import urllib.request

from tests.support.processes import free_port
from tests.support.stack import Stack


def test_worker_metrics_port_serves_dramatiq_counters(tmp_path):
    port = free_port()
    with Stack(
        tmp_path,
        WORKER_METRICS="true",
        dramatiq_prom_port=str(port),
        dramatiq_prom_host="127.0.0.1",
        dramatiq_prom_db=str(tmp_path / "prom"),
    ) as stack:
        stack.start_web()
        stack.start_worker()
        ids = stack.submit(3)
        assert set(stack.wait_final(timeout=60).values()) == {"completed"}
        deadline = time.monotonic() + 20
        text = ""
        while "dramatiq_messages_total" not in text and time.monotonic() < deadline:
            try:
                text = (
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
                    .read()
                    .decode()
                )
            except OSError:
                time.sleep(0.3)
        lines = [
            line
            for line in text.splitlines()
            if line.startswith("dramatiq_messages_total") and 'actor_name="generate_video"' in line
        ]
        assert lines, text[:2000]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in lines) >= len(ids)
        assert "dramatiq_message_duration_milliseconds_bucket" in text
