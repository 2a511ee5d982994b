"""Child processes that do not outlive their parent."""

from __future__ import annotations

import ctypes
import signal


def end_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Have the kernel send this process ``sig`` when its parent ends (Linux); whether it
    could."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(1, sig) == 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False
