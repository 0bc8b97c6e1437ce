"""Worker entry module: ``dramatiq worker`` imports this, which declares every actor.

The Flask app is created lazily by the app-context middleware on the first message, so
importing this package from the web process (to send messages) does not create a second app.
A configuration error is one line and exit status 2, never a traceback.
"""

import sys

from webapp.config_error import ConfigError

try:
    from worker import actors  # noqa: F401
    from worker.broker import broker  # noqa: F401
except ConfigError as exc:
    sys.stderr.write(f"reelqueue: configuration error: {exc}\n")
    raise SystemExit(2) from None
