"""gunicorn settings, all from the environment (PaaS style).

Embedded mode (no ``REDIS_URL``) runs one web process with the worker threads inside it,
because the embedded broker lives in process memory.
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
embedded = not os.environ.get("REDIS_URL")
workers = 1 if embedded else int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = "-" if os.environ.get("WEB_ACCESS_LOG", "0") == "1" else None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Embedded: start the Dramatiq worker threads next to the web threads."""
    if embedded:
        from worker import embedded as embedded_worker

        embedded_worker.start(worker.wsgi)


def worker_exit(server, worker):
    if embedded:
        from worker import embedded as embedded_worker

        embedded_worker.stop()
