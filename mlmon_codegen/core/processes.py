"""Child processes that must not outlive mlmon."""

from __future__ import annotations

import contextlib
import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in a child: on Linux the kernel sends it SIGKILL when its parent dies. (It fires when
    the *thread* that started the child exits: start children from long-lived threads.)"""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
