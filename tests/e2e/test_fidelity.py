"""What passes through untouched: bodies, headers, upstream errors and streams."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from tests.fakeprovider import Reply, error_reply

from .conftest import Harness

pytestmark = pytest.mark.e2e


def headers(harness: Harness, **more: str) -> dict[str, str]:
    return {"x-api-key": harness.tokens["alice"], "content-type": "application/json", **more}


def test_body_and_anthropic_headers_reach_provider_as_sent(harness: Harness) -> None:
    # Key order, unicode and an unknown field survive; odd spacing and
    # escapes reach the provider as the compact JSON the gateway scanned.
    raw = (
        b'{ "max_tokens" : 16,"model":"claude-sonnet-4-6", "x_future_field": {"a": [1, 2.50]},'
        b' "messages":[{"role":"user","content":"caf\\u00e9 \xe2\x98\x95"}]}'
    )
    beta = "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
    response = httpx.post(
        f"{harness.base()}/v1/messages?beta=true",
        content=raw,
        headers=headers(harness, **{"anthropic-version": "2023-06-01", "anthropic-beta": beta}),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    seen = harness.fake.requests[-1]
    assert seen.body == (
        b'{"max_tokens":16,"model":"claude-sonnet-4-6","x_future_field":{"a":[1,2.5]},'
        b'"messages":[{"role":"user","content":"caf\xc3\xa9 \xe2\x98\x95"}]}'
    )
    compact = b'{"model":"claude-sonnet-4-6","max_tokens":16,"messages":[]}'
    httpx.post(f"{harness.base()}/v1/messages", content=compact, headers=headers(harness))
    assert harness.fake.requests[-1].body == compact
    assert seen.query == "beta=true"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.headers["anthropic-beta"] == beta
    assert "x-promptgate-upstream" not in seen.headers
    assert "x-envoy-original-path" not in seen.headers
    assert "x-forwarded-for" not in seen.headers


def test_count_tokens_is_forwarded(harness: Harness) -> None:
    harness.fake.count_tokens = 1234
    client = anthropic.Anthropic(base_url=harness.base(), api_key=harness.tokens["alice"])
    counted = client.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "count me"}]
    )
    assert counted.input_tokens == 1234
    assert harness.fake.requests[-1].path == "/v1/messages/count_tokens"


def test_large_request_body_of_30_mib_is_forwarded(harness: Harness) -> None:
    filler = "x" * (30 * 1024 * 1024)
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": filler}],
    }
    response = httpx.post(
        f"{harness.base()}/v1/messages", json=body, headers=headers(harness), timeout=60
    )
    assert response.status_code == 200, response.text[:300]
    assert len(harness.fake.requests[-1].body) > 30 * 1024 * 1024


def test_body_over_the_limit_is_413_json_and_not_forwarded(harness: Harness) -> None:
    raw = (
        b'{"model":"m","messages":[{"role":"user","content":"' + b"y" * (34 * 1024 * 1024) + b'"}]}'
    )
    response = httpx.post(
        f"{harness.base()}/v1/messages", content=raw, headers=headers(harness), timeout=60
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert not harness.fake.requests


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (error_reply(401, "invalid x-api-key"), 401),
        (error_reply(429, "slow down", retry_after=7), 429),
        (error_reply(500, "boom"), 500),
        (error_reply(529, "Overloaded", type_="overloaded_error"), 529),
    ],
)
def test_upstream_errors_reach_client_unchanged(
    harness: Harness, reply: Reply, status: int
) -> None:
    harness.fake.script(reply)
    response = httpx.post(
        f"{harness.base()}/v1/messages",
        json={
            "model": "claude-sonnet-4-6",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
        },
        headers=headers(harness),
        timeout=10,
    )
    assert response.status_code == status
    body = response.json()
    assert body["type"] == "error"
    if status == 429:
        assert response.headers["retry-after"] == "7"
    # Upstream errors are the provider's: the gateway adds no retry veto.
    assert "x-should-retry" not in response.headers or status != 529
    record = harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])[0]
    assert record.status == status
    assert record.error


def test_mid_stream_error_event_reaches_client(harness: Harness) -> None:
    harness.fake.script(
        Reply(text="partial answer then trouble", stream_error="overloaded_error", fail_after=4)
    )
    client = anthropic.Anthropic(
        base_url=harness.base(), api_key=harness.tokens["alice"], max_retries=0
    )
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "go"}]
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass
    assert "overloaded" in str(caught.value).lower()
    record = harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])[0]
    assert "overloaded" in record.error


def test_aborted_upstream_stream_is_logged_as_partial(harness: Harness) -> None:
    # A pause between writes lets the response headers through before the cut.
    harness.fake.script(
        Reply(text="this stream will be cut off midway", abort=True, fail_after=5, write_pause=0.05)
    )
    with (
        httpx.stream(
            "POST",
            f"{harness.base()}/v1/messages",
            json={
                "model": "claude-sonnet-4-6",
                "max_tokens": 16,
                "stream": True,
                "messages": [{"role": "user", "content": "go"}],
            },
            headers=headers(harness),
            timeout=10,
        ) as response,
        pytest.raises(httpx.HTTPError),
    ):
        for _ in response.iter_bytes():
            pass
    record = harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])[0]
    assert record.partial and record.streamed
    assert record.input_tokens > 0


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b'{"max_tokens": 5}', "application/json", "model"),
        (b"model=x", "application/x-www-form-urlencoded", "Content-Type"),
    ],
)
def test_malformed_requests_get_clear_400(
    harness: Harness, content: bytes, content_type: str, message: str
) -> None:
    response = httpx.post(
        f"{harness.base()}/v1/messages",
        content=content,
        headers=headers(harness, **{"content-type": content_type}),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["x-should-retry"] == "false"
    assert message in json.loads(response.text)["error"]["message"]
    assert not harness.fake.requests
