"""Serving the console with uvicorn: in the foreground, or on a thread beside the gateway."""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.applications import Starlette


def _config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    # The console prints its own address; uvicorn's access log would repeat
    # every poll of the live stream.
    # Open live streams must not hold a shutdown up for long.
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


def serve(app: Starlette, host: str, port: int) -> None:
    """Serve until Ctrl-C."""
    uvicorn.Server(_config(app, host, port)).run()


class ConsoleServer:
    """The console on a background thread (for `promptgate run --console` and tests)."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        # uvicorn leaves signals alone off the main thread: the caller owns Ctrl-C.
        self._server = uvicorn.Server(_config(app, host, port))
        self._thread = threading.Thread(target=self._server.run, name="console", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the console did not start (is the port taken?)")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
