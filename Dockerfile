# Reelqueue image: one image for every Procfile process (web, worker, health, release).
#
#   docker build -t reelqueue .
#   docker run --rm --env-file .env reelqueue flask --app wsgi db upgrade              # release
#   docker run -d --env-file .env -p 8000:8000 reelqueue                               # web
#   docker run -d --env-file .env reelqueue sh -c 'exec dramatiq worker --processes ${WORKER_PROCESSES:-2} --threads ${WORKER_THREADS:-4} --worker-shutdown-timeout ${WORKER_SHUTDOWN_TIMEOUT:-30000}'
#   docker run -d --env-file .env -p 8001:8001 reelqueue python -m worker.health       # health
#
# The worker line needs a shell for its ${VAR:-default}s; `exec` makes dramatiq PID 1, so it
# gets `docker stop`'s SIGTERM and drains (a shell as PID 1 ignores it until the SIGKILL).
# The environment must set SECRET_KEY, ADMIN_API_KEY, DATABASE_URL and REDIS_URL (see
# .env.example): nothing is generated inside the image.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# Code belongs to root (read-only for the app user); only instance/ (default media root and
# SQLite file) is writable.
COPY . .
RUN groupadd --gid 10001 reelqueue \
    && useradd --no-log-init --create-home --uid 10001 --gid 10001 reelqueue \
    && mkdir -p /app/instance \
    && chown 10001:10001 /app/instance
# Numeric, so runtimes can verify it is not root (Kubernetes runAsNonRoot).
USER 10001:10001

EXPOSE 8000

# Checks the *worker* side: Redis, the database and a fresh worker heartbeat (it is what a
# worker or health container should report). A web container should override it with a probe
# of its own /healthz, curl-free since the slim image has no curl, e.g.:
#   --health-cmd 'python -c "import os, urllib.request; urllib.request.urlopen(\"http://127.0.0.1:%s/healthz\" % os.environ.get(\"PORT\", \"8000\"), timeout=5)"'
# (compose: healthcheck.test with the same command). In embedded mode (no REDIS_URL) this
# check always reports unhealthy, because the workers run inside the web process.
# `|| exit 1` maps a configuration error (exit 2, which Docker reserves) to unhealthy.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["sh", "-c", "python -m worker.health --check || exit 1"]

# Same command as the Procfile's web line.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
