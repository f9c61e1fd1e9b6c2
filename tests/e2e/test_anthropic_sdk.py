"""The official anthropic SDK through the gateway, streamed and not."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakeprovider import Reply

from .conftest import MAIN_PROJECT, Harness

pytestmark = pytest.mark.e2e


def client(harness: Harness, token: str | None = None) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=harness.base(), api_key=token or harness.tokens["alice"], max_retries=0
    )


def test_non_streamed_message_reaches_provider_with_real_key(harness: Harness) -> None:
    harness.fake.script(Reply(text="The answer is 42.", input_tokens=17, output_tokens=6))
    message = client(harness).messages.create(
        model="claude-sonnet-4-6",
        max_tokens=64,
        messages=[{"role": "user", "content": "What is six times seven?"}],
    )
    assert message.content[0].text == "The answer is 42."  # type: ignore[union-attr]
    seen = harness.fake.requests[-1]
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == harness.provider_keys["anthropic"]
    assert harness.tokens["alice"] not in str(seen.headers)
    assert "authorization" not in seen.headers
    record = harness.records(request_id=seen.headers.get("x-request-id", ""))[0]
    assert (record.project_id, record.token_id, record.status) == (MAIN_PROJECT, "alice", 200)
    assert (record.input_tokens, record.output_tokens) == (17, 6)
    assert record.model_requested == record.model_sent == "claude-sonnet-4-6"
    assert record.response == "The answer is 42."
    assert "six times seven" in record.prompt
    assert not record.streamed


def test_streamed_message_arrives_whole_and_usage_is_logged(harness: Harness) -> None:
    text = "Streaming through PromptGate, split at awkward places."
    harness.fake.script(
        Reply(
            text=text,
            input_tokens=30,
            output_tokens=12,
            cache_read_input_tokens=100,
            cache_creation_5m=20,
            write_sizes=(7, 1, 64, 3),
        )
    )
    with client(harness).messages.stream(
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "stream please"}],
    ) as stream:
        received = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert received == text
    assert final.usage.output_tokens == 12
    seen = harness.fake.requests[-1]
    assert seen.headers["x-api-key"] == harness.provider_keys["anthropic"]
    record = harness.records(request_id=seen.headers.get("x-request-id", ""))[0]
    assert record.streamed and not record.partial
    assert (record.input_tokens, record.output_tokens) == (30, 12)
    assert (record.cache_read_input_tokens, record.cache_creation_input_tokens) == (100, 20)
    assert record.stop_reason == "end_turn"
    assert record.response == text


def test_metrics_endpoint_counts_requests_and_tokens(harness: Harness) -> None:
    import httpx

    harness.fake.script(Reply(text="metered", input_tokens=13, output_tokens=2))
    client(harness).messages.create(
        model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])
    port = harness.policy["gateway"]["metrics_port"]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("promptgate_requests_total{")
        and 'project="engineering"' in line
        and 'status="200"' in line
        and 'model="claude-sonnet-4-6"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert 'promptgate_tokens_total{kind="input",model="claude-sonnet-4-6"' in text
    assert "promptgate_bundle_info{" in text
