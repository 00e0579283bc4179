"""PostgreSQL LISTEN for change-log notifications: wakes this process when another one changes a
collection, so the change is replayed before a request needs it.

One thread with its own autocommit connection. When the connection drops it reconnects with a growing
pause and then reports `reconnected`, since notifications sent meanwhile are lost: the caller catches up
every collection it holds from the log. Requests never depend on this: each one still checks its view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import make_url

from facekeeper.storage.change_log import NOTIFY_CHANNEL, parse_notification

logger = logging.getLogger(__name__)

POLL_S = 0.5  # how often the thread checks whether it should stop
MAX_RETRY_S = 10.0


def libpq_url(sqlalchemy_url: str) -> str:
    """`postgresql+psycopg://...` as psycopg itself takes it."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeListener:
    def __init__(
        self,
        database_url: str,
        notified: Callable[[str, int], None],
        reconnected: Callable[[], None],
        skip_sender: str | None = None,
    ) -> None:
        """`skip_sender`: notifications sent by this sender (see `this_process`) are not passed on."""
        self._url = libpq_url(database_url)
        self._skip_sender = skip_sender
        self._notified = notified
        self._reconnected = reconnected
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-listener", daemon=True)
        self.listening = threading.Event()  # set while a LISTEN connection is up
        self.backend_pid: int | None = None  # the server process of that connection

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        retry_s = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.backend_pid = connection.info.backend_pid
                    self.listening.set()
                    retry_s = 0.5
                    self._reconnected()  # whatever was announced while not listening is in the log
                    self._listen(connection)
            except psycopg.Error as error:
                if self._stop.is_set():
                    break
                logger.warning("change listener lost its connection (%s); retrying in %.1f s", error, retry_s)
            finally:
                self.listening.clear()
            self._stop.wait(retry_s)
            retry_s = min(retry_s * 2, MAX_RETRY_S)

    def _listen(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        while not self._stop.is_set():
            for notification in connection.notifies(timeout=POLL_S):
                parsed = parse_notification(notification.payload)
                if parsed is not None and parsed[2] != self._skip_sender:
                    try:
                        self._notified(parsed[0], parsed[1])
                    except Exception:  # a failed catch-up must not end the listener; requests retry it
                        logger.exception("replaying change %s failed", notification.payload)
