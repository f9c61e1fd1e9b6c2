"""Attempt outcomes go back to the processor process that planned them.

With several processor processes, Envoy may hand a request's attempts to
any of them, while the access-log record and the plan's cool-downs belong
to the process whose exchange made the plan (the plan header names it).
An attempt served elsewhere sends its outcome there as one datagram on a
Unix socket in a directory only this instance's processes share (0700, made
by the launcher, `PEERS_ENV`): nobody else can feed a process outcomes.

A datagram that cannot be sent (the owner has stopped, its buffer is full)
is dropped: the record then shows that attempt without a status, as it did
before, and routing goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

PEERS_ENV = "PROMPTGATE_PEERS_DIR"
# An outcome is a few hundred bytes; more is not ours.
_MAX_DATAGRAM = 4096


class Peers:
    """This process's slot among the processes of one instance, and their sockets."""

    def __init__(self, directory: Path, index: int) -> None:
        self.directory = directory
        self.index = index
        self._out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        self._in: socket.socket | None = None

    @classmethod
    def from_environment(cls, index: int, processes: int) -> Peers | None:
        """The peers of a process started by the launcher; None when it runs alone."""
        directory = os.environ.get(PEERS_ENV)
        if processes < 2 or not directory:
            return None
        return cls(Path(directory), index)

    def path(self, index: int) -> Path:
        return self.directory / f"attempts-{index}.sock"

    def send(self, owner: int, outcome: dict[str, object]) -> bool:
        """Send `outcome` to process `owner`; False when it cannot take it now."""
        try:
            self._out.sendto(orjson.dumps(outcome), str(self.path(owner)))
        except OSError as exc:
            log.warning("attempt outcome for process %d dropped: %s", owner, exc.strerror)
            return False
        return True

    def listen(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[Any], None]) -> None:
        """Hand every outcome sent to this process to `deliver`, on `loop`."""
        path = self.path(self.index)
        path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        sock.setblocking(False)
        self._in = sock

        def readable() -> None:
            while True:
                try:
                    data = sock.recv(_MAX_DATAGRAM)
                except (BlockingIOError, InterruptedError):
                    return
                try:
                    deliver(orjson.loads(data))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    log.warning("an attempt outcome that is not one was dropped")

        loop.add_reader(sock.fileno(), readable)

    def close(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if self._in is not None:
            if loop is not None:
                loop.remove_reader(self._in.fileno())
            self._in.close()
            self.path(self.index).unlink(missing_ok=True)
            self._in = None
        self._out.close()
