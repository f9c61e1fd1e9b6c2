"""A real webhook receiver on loopback that checks Standard Webhooks signatures itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    id: str
    timestamp: int
    headers: dict[str, str]
    body: bytes
    signed: bool
    verified: bool

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


def expected_signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class Receiver:
    """Answers `status` to every POST and keeps what arrived; `stop()` then `start()` on
    the same port to simulate an outage."""

    def __init__(self, key: bytes | None, status: int = 200, port: int = 0) -> None:
        self.key = key
        self.status = status
        self.received: list[Received] = []
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str = "/hooks/promptgate") -> str:
        return f"http://127.0.0.1:{self._port}{path}"

    @property
    def unique_ids(self) -> set[str]:
        return {r.id for r in self.received}

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                msg_id = headers.get("webhook-id", "")
                timestamp = headers.get("webhook-timestamp", "0")
                signature = headers.get("webhook-signature")
                verified = False
                if signature and receiver.key is not None:
                    want = expected_signature(receiver.key, msg_id, timestamp, body)
                    verified = any(
                        hmac.compare_digest(want, candidate) for candidate in signature.split(" ")
                    )
                receiver.received.append(
                    Received(msg_id, int(timestamp), headers, body, signature is not None, verified)
                )
                reply = b'{"ok":true}' if receiver.status < 300 else b"receiver says no"
                self.send_response(receiver.status)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
