"""One blocking HTTP POST, without redirects; the worker runs it in a thread."""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

USER_AGENT = "PromptGate-Webhooks/1"
EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    body: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Sender(Protocol):
    """POST `body` to `url`; raise OSError when no HTTP response comes back."""

    def __call__(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Response: ...


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise OSError(f"bad port in {display_url(url)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OSError(f"not an http(s) URL: {display_url(url)}")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    all_headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **headers,
    }
    try:
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
        return Response(response.status, response.reason, excerpt)
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP response: {exc!r}") from exc
    finally:
        connection.close()


def display_url(url: str) -> str:
    """The URL without credentials, path and query, which often carry a secret (Slack)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1] or "?"
    hidden = "/…" if (parts.path not in ("", "/") or parts.query) else "/"
    return f"{parts.scheme}://{host}{hidden}"
