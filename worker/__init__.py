"""Worker entry module: ``dramatiq worker`` imports this, which declares every actor.

The Flask app is created lazily by the app-context middleware on the first message, so
importing this package from the web process (to send messages) does not create a second app.
"""

from worker import actors  # noqa: F401
from worker.broker import broker  # noqa: F401
