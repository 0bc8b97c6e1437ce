"""JSON log lines carry the request id, job id and attempt."""

from __future__ import annotations

import io
import json
import logging

from webapp.logging_setup import ContextFilter, job_context


def test_json_lines_carry_job_id_and_attempt():
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s %(attempt)s"
        )
    )
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = job_context.set(("video_abc", 2))
    try:
        logger.warning("attempt failed")
    finally:
        job_context.reset(token)
    logger.warning("outside a job")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["job_id"], first["attempt"], first["message"]) == (
        "video_abc",
        2,
        "attempt failed",
    )
    assert second["job_id"] is None
