"""Child processes that do not outlive their parent, and worker processes that a Ctrl-C or
a kill of their parent never leaves behind."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context

STOPPING = frozenset({signal.SIGINT, signal.SIGTERM})


def end_with_parent(parent: int, sig: int = signal.SIGTERM) -> bool:
    """Have the kernel send this process ``sig`` when its parent, the process ``parent``,
    ends (Linux); whether it could. A parent that ended before this was asked for is
    told by no one, so then ``sig`` comes at once."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        armed = bool(libc.prctl(1, sig) == 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False
    if armed and os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return armed


@contextmanager
def starting_workers() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back in this thread while it starts worker processes, which
    inherit the mask: none can be stopped by them before :func:`worker_started` has run.
    What arrived meanwhile is delivered here at the end."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def worker_started(parent: int, held: Iterable[int] = ()) -> None:
    """The first thing a worker process of ``parent`` does, started within
    :func:`starting_workers`: it ends with its parent, however that ends; it leaves Ctrl-C
    (which a terminal sends to every process of the command) to the parent, which stops
    it; and it closes the descriptors ``held`` (a lock of the parent's, say)."""
    end_with_parent(parent, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
    for fd in held:
        os.close(fd)


def worker_pool(workers: int, method: str, held: Iterable[int] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes started by ``method`` (fork or spawn), each set up by
    :func:`worker_started`; hand it tasks within :func:`starting_workers`."""
    setup = (os.getpid(), list(held))
    return ProcessPoolExecutor(workers, get_context(method), initializer=worker_started, initargs=setup)
