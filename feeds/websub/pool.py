"""A few daemon threads that run jobs: outgoing requests wait on them, never a caller
that must answer quickly, and none keeps a process from exiting."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class Pool:
    """``size`` daemon threads, started at the first job of each process (so a fork
    gets threads of its own)."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run ``job`` on a thread of the pool; cancel the future to drop it unstarted."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._jobs = queue.SimpleQueue()
                    for number in range(self.size):
                        threading.Thread(target=self._work, name=f"{self.name}-{number}", daemon=True).start()
                    self._pid = os.getpid()
        future: Future[T] = Future()
        self._jobs.put((job, future))
        return future

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            job, future = jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as err:  # handed to whoever waits on the future
                future.set_exception(err)
