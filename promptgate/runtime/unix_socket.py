"""The processor's Unix socket lives in a directory only its own user can enter.

The processor injects provider keys into the requests Envoy sends it, so
whoever can open its gRPC socket can ask for a key with any valid chat
token. A TCP port on loopback is open to every local user and, in a pod, to
every container; a Unix socket in a 0700 directory is open to this user
(and root) only. On Kubernetes the directory sits in an emptyDir mounted by
the processor and Envoy containers alone.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

UNIX_PREFIX = "unix:"


def socket_path(address: str) -> Path | None:
    """The filesystem path of a ``unix:PATH`` gRPC address, or None for TCP."""
    return Path(address.removeprefix(UNIX_PREFIX)) if address.startswith(UNIX_PREFIX) else None


def prepare_private_directory(address: str) -> None:
    """Make the socket's directory (0700, ours), or refuse one that others can enter."""
    path = socket_path(address)
    if path is None:
        return
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid != os.getuid():
        raise OSError(f"socket directory {directory} belongs to uid {info.st_uid}, not to us")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        # Never tighten a directory we find open: it may be /tmp or a shared
        # volume others rely on. Refuse, and say what would do.
        raise OSError(
            f"socket directory {directory} is open to other users (mode {mode:o}); "
            "give the processor a directory of its own that only its user can enter (0700)"
        )


def process_address(address: str, index: int) -> str:
    """The address of processor ``index`` of several sharing ``address``.

    Process 0 keeps the address itself; process *i* listens on a sibling
    socket ``NAME-i.sock`` in the same private directory (TCP: port + *i*).
    """
    if index == 0:
        return address
    path = socket_path(address)
    if path is None:
        host, _, port = address.rpartition(":")
        return f"{host}:{int(port) + index}"
    return f"{UNIX_PREFIX}{path.with_name(f'{path.stem}-{index}{path.suffix}')}"
