"""The processor's HTTP side door: metrics, status and the bundle it serves.

On loopback by default. ``/metrics`` is for Prometheus; ``/status`` tells
``promptgate apply`` which bundle version is live (and why a newer one was
refused); ``/bundle`` lets ``promptgate diff --target URL`` compare a policy
with what a running gateway serves. The bundle holds no secret values.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .processes import serving_versions


class StatusServer:
    def __init__(
        self,
        registry: CollectorRegistry,
        status: Callable[[], dict[str, Any]],
        bundle: Callable[[], dict[str, Any]],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        def status_route() -> tuple[str, bytes, int]:
            # A readiness probe reads /status: not ready answers 503.
            payload = status()
            code = 200 if payload.get("ready", True) else 503
            return ("application/json", json.dumps(payload).encode(), code)

        routes: dict[str, Callable[[], tuple[str, bytes, int]]] = {
            "/metrics": lambda: (CONTENT_TYPE_LATEST, generate_latest(registry), 200),
            "/status": status_route,
            "/bundle": lambda: (
                "application/json",
                json.dumps(bundle(), sort_keys=True).encode(),
                200,
            ),
        }

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404)
                    return
                content_type, body, code = route()
                self.send_response(code)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="promptgate-status"
        )

    def start(self) -> StatusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def process_status(
    version: str, refused: dict[str, str] | None, processes: int = 1
) -> dict[str, Any]:
    """What /status says for the instance's `processes` processor processes.

    With several, it is ready (200) only once every one serves, and names a
    bundle only once every one serves that bundle: `promptgate apply`, the
    pod's sync and its readiness probe read it, and answering for process 0
    alone would let a request reach a sibling that is not up yet (a 503), or
    still on the old bundle (a revoked token still valid).
    """
    status: dict[str, Any] = {"bundle_version": version, "refused": refused, "pid": os.getpid()}
    if processes > 1:
        siblings = serving_versions()
        status["processes"] = {str(pid): served for pid, served in sorted(siblings.items())}
        status["ready"] = len(siblings) >= processes
        if not status["ready"] or any(served != version for served in siblings.values()):
            status["bundle_version"] = None
    return status
