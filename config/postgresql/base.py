"""Django's PostgreSQL backend with a health check that costs no round trip.

With ``CONN_HEALTH_CHECKS`` Django runs ``SELECT 1`` before the first query of every
request on a reused connection: on the labeling path that was one round trip in five.
A connection the server has dropped (a restart, an idle timeout, a terminated backend)
has something waiting on its socket: the server's goodbye, or the end of the stream. So
look first, without blocking, and only when something is there ask the server for real.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by Django's BaseDatabaseWrapper; missing from django-stubs (declared, not assigned).
    health_check_enabled: bool
    health_check_done: bool

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
            or self.pool
        ):
            return
        if self._socket_has_news() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def _socket_has_news(self) -> bool:
        """Whether an idle connection has anything to read: on a healthy one, nothing."""
        try:
            fd = self.connection.pgconn.socket
            readable, _, _ = select.select([fd], [], [], 0)
        except (OSError, ValueError, self.Database.Error):
            return True  # no usable socket: let the real check decide
        return bool(readable)
