"""Keeping a server current: a thread that rescans the corpus every few seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Watcher:
    """Calls ``refresh`` every ``interval`` seconds, in a daemon thread, until stopped."""

    def __init__(self, refresh: Callable[[], bool], interval: float) -> None:
        self._refresh = refresh
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="feeds-watch", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if self._refresh():
                    log.debug("this process now serves the corpus as changed")
            except Exception:  # the edge of this thread: log, keep serving the last version
                log.exception("corpus refresh failed; serving the previous version")
