"""WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app`` and ``flask --app wsgi``."""

import sys

from webapp.config_error import ConfigError

try:
    from webapp import create_app

    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"reelqueue: configuration error: {exc}\n")
    raise SystemExit(2) from None
