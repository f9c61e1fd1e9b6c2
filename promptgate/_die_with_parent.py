"""``python -m promptgate._die_with_parent CMD...``: exec CMD so that it dies with its parent.

The supervisor starts Envoy and the processor through this launcher. It
asks Linux to send SIGTERM when the parent goes away (PR_SET_PDEATHSIG,
which survives exec), so a supervisor killed outright leaves no orphans.
It runs in a fresh, single-threaded process: doing the same in a
``preexec_fn`` of a multi-threaded parent can deadlock the fork.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main() -> None:
    command = sys.argv[1:]
    if not command:
        sys.exit("usage: python -m promptgate._die_with_parent COMMAND [ARGS...]")
    parent = os.getppid()
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the guard was in place
            sys.exit(1)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
