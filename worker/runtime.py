"""What runs beside the actors in every worker process: heartbeats and the reconciler.

:class:`WorkerRuntime` is Dramatiq middleware: when a worker boots it starts two daemon
threads, one beating every ``WORKER_HEARTBEAT_INTERVAL`` seconds and one running a reconciler
pass every ``RECONCILE_INTERVAL`` seconds (the pass itself takes a cross-process lock), and it
counts the messages in flight for the heartbeat record.
"""

from __future__ import annotations

import logging
import threading

from dramatiq.middleware import Middleware

from worker.heartbeat import HeartbeatRegistry, new_beat

log = logging.getLogger(__name__)


class WorkerRuntime(Middleware):
    def __init__(self, app_provider) -> None:
        self._app_provider = app_provider
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        self._lock = threading.Lock()
        self.beat = None

    def before_process_message(self, broker, message) -> None:
        with self._lock:
            self._in_flight += 1

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        with self._lock:
            self._in_flight -= 1

    after_skip_message = after_process_message

    def after_worker_boot(self, broker, worker) -> None:
        self._stop.clear()
        self.beat = new_beat(getattr(worker, "worker_threads", 0))
        # Separate threads: a long reconciler pass must never delay a heartbeat.
        self._threads = [
            threading.Thread(target=self._beat_loop, name="reelqueue-heartbeat", daemon=True),
            threading.Thread(target=self._reconcile_loop, name="reelqueue-reconciler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def before_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        try:
            app = self._app_provider()
            self._registry(app).remove(self.beat.id)
        except Exception:  # noqa: BLE001 - shutting down; Redis may be gone
            log.debug("could not remove heartbeat", exc_info=True)

    def _registry(self, app) -> HeartbeatRegistry:
        return HeartbeatRegistry(
            app.config.get("REDIS_URL"), app.config["WORKER_HEARTBEAT_INTERVAL"]
        )

    def _beat_loop(self) -> None:
        app = self._app_provider()
        interval = float(app.config["WORKER_HEARTBEAT_INTERVAL"])
        registry = self._registry(app)
        while not self._stop.is_set():
            try:
                with self._lock:
                    self.beat.in_flight = self._in_flight
                registry.beat(self.beat)
            except Exception:  # noqa: BLE001 - a Redis blip must not kill the loop
                log.warning("heartbeat failed", exc_info=True)
            self._stop.wait(interval)

    def _reconcile_loop(self) -> None:
        app = self._app_provider()
        if not app.config.get("RUN_MAINTENANCE", True):
            return
        every = float(app.config["RECONCILE_INTERVAL"])
        if self._stop.wait(min(1.0, every)):
            return
        while not self._stop.is_set():
            self._reconcile(app)
            self._stop.wait(every)

    @staticmethod
    def _reconcile(app) -> None:
        from worker.maintenance import reconcile_once

        try:
            with app.app_context():
                reconcile_once()
        except Exception:  # noqa: BLE001 - next pass will try again
            log.warning("reconciler pass failed", exc_info=True)
