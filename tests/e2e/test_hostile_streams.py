"""Requests whose body phase never runs: HTTP/2 and HTTP/1.1 with trailers and no body.

Envoy calls the processor's body phase only when there is a body. A request
made of headers and trailers alone used to reach the provider with the
client's own routing header and credentials. The header phase now drops
them, so such a request has no route: it ends at the gateway.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import pytest

from .conftest import GUARDED_PROJECT, Harness

pytestmark = pytest.mark.e2e


def _address(harness: Harness) -> tuple[str, int]:
    parts = urlsplit(harness.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _h2_headers_and_trailers(harness: Harness, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    """Send HEADERS, then trailers with END_STREAM and no DATA frame; the status and body."""
    with socket.create_connection(_address(harness), timeout=10) as sock:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        conn.send_headers(1, headers, end_stream=False)
        conn.send_headers(1, [("x-trailer", "1")], end_stream=True)
        sock.sendall(conn.data_to_send())
        status, body = 0, b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, 1)
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    return status, body
            sock.sendall(conn.data_to_send())
    return status, body


def _hostile_headers(harness: Harness, project: str, token: str) -> list[tuple[str, str]]:
    host, port = _address(harness)
    return [
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", f"{host}:{port}"),
        (":path", f"/api/{project}/v1/messages"),
        ("content-type", "application/json"),
        ("authorization", f"Bearer {token}"),
        ("x-api-key", "sk-ant-client-chosen-" + "0" * 20),
        # A provider this project has not enabled, picked by the client.
        ("x-promptgate-upstream", "openai"),
    ]


def test_http2_headers_and_trailers_without_data_never_reach_a_provider(harness: Harness) -> None:
    token = harness.tokens["erin"]
    status, body = _h2_headers_and_trailers(
        harness, _hostile_headers(harness, GUARDED_PROJECT, token)
    )
    assert status in (400, 404), (status, body)
    assert not harness.fake.requests
    assert token.encode() not in body


def test_http1_chunked_trailers_without_body_never_reach_a_provider(harness: Harness) -> None:
    token = harness.tokens["erin"]
    host, port = _address(harness)
    request = (
        f"POST /api/{GUARDED_PROJECT}/v1/messages HTTP/1.1\r\n"
        f"host: {host}:{port}\r\n"
        "content-type: application/json\r\n"
        f"authorization: Bearer {token}\r\n"
        "x-promptgate-upstream: openai\r\n"
        "transfer-encoding: chunked\r\n"
        "trailer: x-trailer\r\n"
        "connection: close\r\n\r\n"
        "0\r\nx-trailer: 1\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 404), answer[:200]
    assert not harness.fake.requests
