"""Self-tests of the fake provider: what end-to-end tests rely on it to do."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from promptgate.providers import SSEParser

from . import FakeProvider, Reply, ToolUse, error_reply

REPO = Path(__file__).resolve().parents[2]
ANTHROPIC_BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": [{"type": "text", "text": "mail [[EMAIL_001]]"}]}],
}
OPENAI_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


def post(
    fake: FakeProvider, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    try:
        conn.request(
            "POST", path, json.dumps(body), {"content-type": "application/json", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def raw_chunks(fake: FakeProvider, path: str, body: dict[str, Any]) -> list[bytes]:
    """The HTTP chunks of a streamed response, exactly as the server framed them."""
    payload = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", fake.port), timeout=10) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {len(payload)}\r\n\r\n"
        )
        sock.sendall(head.encode() + payload)
        data = b""
        while part := sock.recv(65536):
            data += part
    rest = data.split(b"\r\n\r\n", 1)[1]
    chunks: list[bytes] = []
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        rest = rest[size + 2 :]


def events(data: bytes) -> list[tuple[str, Any]]:
    parsed = SSEParser().feed(data)
    return [
        (e.event, e.data if e.data == "[DONE]" else json.loads(e.data))
        for e in parsed
        if e.data is not None
    ]


def test_records_each_request_with_headers_query_and_raw_body(fake: FakeProvider) -> None:
    status, _, _ = post(fake, "/v1/messages?beta=true", ANTHROPIC_BODY, {"x-api-key": "sk-real"})
    assert status == 200
    request = fake.requests[0]
    assert (request.method, request.path, request.query) == ("POST", "/v1/messages", "beta=true")
    assert request.headers["x-api-key"] == "sk-real"
    assert request.json() == ANTHROPIC_BODY


def test_default_answer_names_the_model_and_echoes_the_last_user_text(fake: FakeProvider) -> None:
    _, headers, body = post(fake, "/v1/messages", ANTHROPIC_BODY)
    message = json.loads(body)
    assert headers["content-type"] == "application/json"
    assert message["content"] == [
        {"type": "text", "text": "Hello from claude-sonnet-4-6. You said: mail [[EMAIL_001]]"}
    ]
    assert message["usage"]["input_tokens"] > 0


def test_openai_route_works_under_any_base_path(fake: FakeProvider) -> None:
    status, _, body = post(fake, "/compat/v1/chat/completions", OPENAI_BODY)
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"].endswith("You said: hello")


def test_count_tokens_answers_the_scripted_count(fake: FakeProvider) -> None:
    fake.count_tokens = 4321
    _, _, body = post(fake, "/v1/messages/count_tokens", ANTHROPIC_BODY)
    assert json.loads(body) == {"input_tokens": 4321}


def test_anthropic_stream_has_the_real_event_sequence(fake: FakeProvider) -> None:
    fake.script(
        Reply(
            text="ok",
            thinking="think",
            tool_uses=(ToolUse("get_weather", {"city": "Paris"}),),
            cache_read_input_tokens=100,
            cache_creation_1h=50,
        )
    )
    _, headers, body = post(fake, "/v1/messages", {**ANTHROPIC_BODY, "stream": True})
    assert headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events(body)]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    deltas = [data["delta"]["type"] for name, data in events(body) if name == "content_block_delta"]
    assert {"thinking_delta", "signature_delta", "text_delta", "input_json_delta"} <= set(deltas)
    start = events(body)[0][1]
    assert start["message"]["usage"]["cache_read_input_tokens"] == 100
    assert start["message"]["usage"]["cache_creation"]["ephemeral_1h_input_tokens"] == 50


def test_openai_stream_adds_usage_chunk_only_when_asked(fake: FakeProvider) -> None:
    _, _, plain = post(fake, "/v1/chat/completions", {**OPENAI_BODY, "stream": True})
    asked = {**OPENAI_BODY, "stream": True, "stream_options": {"include_usage": True}}
    _, _, with_usage = post(fake, "/v1/chat/completions", asked)
    assert b'"usage"' not in plain
    assert events(plain)[-1] == ("message", "[DONE]")
    usage_chunk = events(with_usage)[-2][1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["prompt_tokens"] > 0
    assert all("usage" in data for _, data in events(with_usage)[:-1])


def test_each_sse_event_is_its_own_write_by_default(fake: FakeProvider) -> None:
    chunks = raw_chunks(fake, "/v1/messages", {**ANTHROPIC_BODY, "stream": True})
    assert all(len(SSEParser().feed(chunk)) == 1 for chunk in chunks)


def test_write_sizes_split_events_across_writes(fake: FakeProvider) -> None:
    fake.script(Reply(write_sizes=(7, 3)))
    chunks = raw_chunks(fake, "/v1/messages", {**ANTHROPIC_BODY, "stream": True})
    assert {len(chunk) for chunk in chunks[:-1]} == {7, 3}
    assert events(b"".join(chunks))[-1][0] == "message_stop"


def test_large_write_size_merges_events_into_one_write(fake: FakeProvider) -> None:
    fake.script(Reply(write_sizes=(1 << 20,)))
    chunks = raw_chunks(fake, "/v1/chat/completions", {**OPENAI_BODY, "stream": True})
    assert len(chunks) == 1 and len(events(chunks[0])) > 5


def test_scripted_http_errors_carry_provider_body_and_headers(fake: FakeProvider) -> None:
    fake.script(error_reply(429, "slow down", retry_after=7), error_reply(529))
    status, headers, body = post(fake, "/v1/messages", ANTHROPIC_BODY)
    assert (status, headers["retry-after"]) == (429, "7")
    assert json.loads(body) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    status, _, body = post(fake, "/v1/chat/completions", OPENAI_BODY)
    assert status == 529 and json.loads(body)["error"]["type"] == "server_error"


def test_mid_stream_error_event_ends_the_stream(fake: FakeProvider) -> None:
    fake.script(Reply(stream_error="overloaded_error", fail_after=4))
    _, _, body = post(fake, "/v1/messages", {**ANTHROPIC_BODY, "stream": True})
    parsed = events(body)
    assert len(parsed) == 5
    assert parsed[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )


def test_abort_closes_the_connection_mid_body(fake: FakeProvider) -> None:
    fake.script(Reply(abort=True, fail_after=2))
    with pytest.raises(http.client.IncompleteRead):
        post(fake, "/v1/messages", {**ANTHROPIC_BODY, "stream": True})


def test_first_byte_delay_holds_back_the_response(fake: FakeProvider) -> None:
    fake.script(Reply(first_byte_delay=0.3))
    started = time.monotonic()
    post(fake, "/v1/messages", ANTHROPIC_BODY)
    assert time.monotonic() - started >= 0.3


def test_api_key_is_enforced_in_each_providers_format() -> None:
    with FakeProvider(api_key="sk-real") as fake:
        status, _, body = post(fake, "/v1/messages", ANTHROPIC_BODY, {"x-api-key": "pg_live_x"})
        assert status == 401 and json.loads(body)["error"]["type"] == "authentication_error"
        status, _, body = post(fake, "/v1/chat/completions", OPENAI_BODY)
        assert status == 401 and json.loads(body)["error"]["code"] == "invalid_api_key"
        bearer = {"authorization": "Bearer sk-real"}
        assert post(fake, "/v1/chat/completions", OPENAI_BODY, bearer)[0] == 200


def test_unknown_path_is_a_json_404(fake: FakeProvider) -> None:
    status, _, body = post(fake, "/v1/completions", OPENAI_BODY)
    assert status == 404 and json.loads(body)["error"]["type"] == "not_found_error"


def test_keep_alive_serves_several_requests_on_one_connection(fake: FakeProvider) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    for stream in (False, True, False):
        conn.request("POST", "/v1/messages", json.dumps({**ANTHROPIC_BODY, "stream": stream}))
        sock = conn.sock
        response = conn.getresponse()
        assert response.status == 200 and response.read()
        assert conn.sock is sock
    conn.close()


def test_accepts_32_mb_bodies_plain_and_chunked(fake: FakeProvider) -> None:
    text = "x" * (32 * 1024 * 1024 - 200)
    body = json.dumps({**ANTHROPIC_BODY, "messages": [{"role": "user", "content": text}]}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=30)
    conn.request("POST", "/v1/messages", body)
    assert conn.getresponse().read()
    conn.request("POST", "/v1/messages", iter([body[:1000], body[1000:]]), encode_chunked=True)
    assert conn.getresponse().status == 200
    conn.close()
    assert [len(r.body) for r in fake.requests] == [len(body), len(body)]


def test_serves_concurrent_streams(fake: FakeProvider) -> None:
    fake.default = Reply(text="abcdefghij" * 3, write_pause=0.005)
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(
                lambda _: post(fake, "/v1/messages", {**ANTHROPIC_BODY, "stream": True}), range(16)
            )
        )
    assert all(status == 200 for status, _, _ in results)
    # Sixteen streams of ~30 paused writes each: serially that is >2.4 s.
    assert time.monotonic() - started < 2.0


def test_runs_standalone_from_the_command_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeprovider", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/v1/chat/completions", json.dumps(OPENAI_BODY))
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
