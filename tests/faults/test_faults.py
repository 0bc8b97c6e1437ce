"""Faults against real processes -- gunicorn, dramatiq workers, redis-server, PostgreSQL --
each ending with the ledger invariant (see tests/support/stack.py)."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from dramatiq import Message

from tests.support.processes import http
from tests.support.stack import Stack

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path):
    with Stack(tmp_path) as running:
        running.start_web()
        yield running


def test_worker_killed_mid_job_restarts_and_finishes_everything(stack):
    ids = stack.submit(6, seconds="12", size="1280x720")
    stack.start_worker()
    stack.wait_for(lambda: "in_progress" in stack.statuses().values(), what="a running job")
    running = [i for i, s in stack.statuses().items() if s == "in_progress"]
    stack.kill_workers()  # kill -9 the whole worker process group
    stack.start_worker()
    assert set(stack.wait_final(timeout=180).values()) == {"completed"}
    attempts = dict(stack.sql("SELECT id, attempts FROM video_jobs"))
    assert all(attempts[i] == 2 for i in running), {i: attempts[i] for i in running}
    assert sorted(stack.ledger()) == sorted(ids)


def test_poison_job_fails_after_max_attempts_while_100_others_complete(stack):
    stack.supervise_workers()
    [poison] = stack.submit(1, provider="crash")
    normal = stack.submit(100)
    final = stack.wait_final(timeout=240)
    assert final[poison] == "failed"
    assert [final[i] for i in normal].count("completed") == 100
    [(attempts, code, lost)] = stack.sql(
        "SELECT attempts, error_code, (SELECT count(*) FROM job_attempts WHERE job_id = %s) "
        "FROM video_jobs WHERE id = %s",
        poison,
        poison,
    )
    assert (attempts, code, lost) == (3, "worker_lost", 3)  # JOB_MAX_ATTEMPTS defaults to 3
    stack.ledger()


def test_redis_wiped_with_jobs_queued_and_in_flight(stack):
    ids = stack.submit(200)
    stack.start_worker()
    stack.wait_for(
        lambda: list(stack.statuses().values()).count("completed") >= 10, what="some completions"
    )
    stack.redis().flushall()  # everything queued and in flight vanishes from the broker
    final = stack.wait_final(timeout=240)
    assert set(final.values()) == {"completed"}
    assert sorted(stack.ledger()) == sorted(ids)


def test_broker_down_at_submit_answers_201_and_completes_later(stack):
    stack.stop_redis()
    ids = stack.submit(100)  # each asserts 201
    assert set(stack.statuses().values()) == {"queued"}
    # Each row names the message it was about to send; Redis never stored it, so after the
    # restart the reconciler finds every one missing and sends it.
    assert stack.sql("SELECT count(*) FROM video_jobs WHERE message_id IS NOT NULL")[0][0] == 100
    stack.start_redis()
    stack.supervise_workers()
    assert set(stack.wait_final(timeout=240).values()) == {"completed"}
    assert sorted(stack.ledger()) == sorted(ids)


def test_every_message_delivered_twice_concurrently(stack):
    ids = stack.submit(40)
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=f"redis://127.0.0.1:{stack.redis_port}/0")

    def duplicate(job_ids):
        for job_id in job_ids:
            broker.enqueue(
                Message(
                    queue_name="videos",
                    actor_name="generate_video",
                    args=(job_id,),
                    kwargs={},
                    options={},
                )
            )

    senders = [threading.Thread(target=duplicate, args=(ids,)) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    stack.start_worker(WORKER_THREADS="4")
    assert set(stack.wait_final(timeout=180).values()) == {"completed"}
    attempts = {a for (a,) in stack.sql("SELECT attempts FROM video_jobs")}
    assert attempts == {1}, "one claim per job despite three deliveries"
    stack.ledger()


def test_sigterm_lets_short_jobs_finish_and_a_long_job_is_recovered_by_its_lease(stack):
    # The long job idles for 12 s (the ``sleep`` test provider): a render's length would
    # depend on the machine, and a fast one finished before the shutdown timeout.
    [long_job] = stack.submit(1, seconds="12", provider="sleep", prompt="long")
    worker = stack.start_worker(WORKER_SHUTDOWN_TIMEOUT="1500")
    stack.wait_for(lambda: stack.statuses()[long_job] == "in_progress", what="long job start")
    [short_job] = stack.submit(1, prompt="short")
    stack.wait_for(lambda: stack.statuses()[short_job] != "queued", what="short job start")
    worker.send_signal(signal.SIGTERM)  # the main process only, as Docker/PaaS do
    worker.wait(timeout=30)
    statuses = stack.statuses()
    assert statuses[short_job] == "completed"
    assert statuses[long_job] == "in_progress", "cut off by the shutdown timeout"
    stack.start_worker()
    assert stack.wait_final(timeout=120) == {long_job: "completed", short_job: "completed"}
    assert stack.sql("SELECT attempts FROM video_jobs WHERE id = %s", long_job) == [(2,)]
    stack.ledger()


def test_load_50_clients_zero_errors_and_the_ledger_holds(stack, capsys):
    stack.supervise_workers()
    seconds = 15
    latencies: list[float] = []
    errors: list[str] = []
    created: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop(n: int) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status, body = http(
                "POST",
                f"{stack.url}/v1/videos",
                {"prompt": f"load {n}", "provider": "null"},
                stack.key,
            )
            elapsed = time.perf_counter() - started
            with lock:
                if status != 201:
                    errors.append(f"create {status}")
                    continue
                latencies.append(elapsed)
                created.append(body["id"])
            for _ in range(3):
                status, _ = http("GET", f"{stack.url}/v1/videos/{body['id']}", key=stack.key)
                if status != 200:
                    with lock:
                        errors.append(f"poll {status}")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    with capsys.disabled():
        print(
            f"\nload: {len(created)} jobs created by 50 clients in {seconds}s, "
            f"create p50 {p50:.0f} ms, p99 {p99:.0f} ms, errors {len(errors)}"
        )
    assert errors == []
    assert len(created) > 100
    final = stack.wait_final(timeout=240)
    assert set(final.values()) == {"completed"}
    stack.ledger()


def test_database_down_for_20_seconds(tmp_path):
    from tests.support.tcpproxy import TcpProxy

    proxy = TcpProxy(5432).start()
    with Stack(tmp_path, db_port=proxy.port) as stack:
        stack.start_web()
        stack.supervise_workers()
        before = stack.submit(10, seconds="4", size="640x360")
        proxy.cut()
        outage_ends = time.monotonic() + 20
        answers = []
        while time.monotonic() < outage_ends:
            status, body = http("POST", f"{stack.url}/v1/videos", {"prompt": "during"}, stack.key)
            answers.append(status)
            assert status == 503, body
            assert body["error"]["code"] == "service_unavailable"
            assert "Traceback" not in str(body)
            health, report = http("GET", f"{stack.url}/healthz")
            assert health == 503 and report["checks"]["database"] != "ok"
            time.sleep(1)
        proxy.restore()
        after = stack.submit(5)
        final = stack.wait_final(timeout=180)
        assert set(final.values()) == {"completed"}
        assert sorted(final) == sorted(before + after)
        assert len(answers) >= 10
        stack.ledger()
    proxy.cut()
