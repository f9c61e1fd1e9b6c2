"""The official openai SDK through the gateway."""

from __future__ import annotations

import openai
import pytest

from tests.fakeprovider import Reply

from .conftest import Harness

pytestmark = pytest.mark.e2e


def client(harness: Harness) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=harness.base() + "/v1", api_key=harness.tokens["alice"], max_retries=0
    )


def test_chat_completion_reaches_provider_with_real_key(harness: Harness) -> None:
    harness.fake.script(Reply(text="Bonjour.", input_tokens=9, output_tokens=3))
    completion = client(harness).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello in French"}]
    )
    assert completion.choices[0].message.content == "Bonjour."
    seen = harness.fake.requests[-1]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {harness.provider_keys['openai']}"
    assert "x-api-key" not in seen.headers
    record = harness.records(request_id=seen.headers["x-request-id"])[0]
    assert (record.input_tokens, record.output_tokens, record.status) == (9, 3, 200)
    assert record.provider == "openai"


def test_stream_usage_is_counted_without_changing_what_client_sees(harness: Harness) -> None:
    harness.fake.script(
        Reply(text="one two three four", input_tokens=11, output_tokens=4, write_sizes=(5, 50, 2))
    )
    chunks = list(
        client(harness).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "count"}],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    # The client did not ask for usage, so it must not get the usage chunk.
    assert all(c.choices for c in chunks)
    assert all(getattr(c, "usage", None) is None for c in chunks)
    seen = harness.fake.requests[-1]
    assert seen.json()["stream_options"] == {"include_usage": True}  # type: ignore[index]
    record = harness.records(request_id=seen.headers["x-request-id"])[0]
    assert (record.input_tokens, record.output_tokens) == (11, 4)
    assert record.streamed and not record.partial


def test_client_that_asks_for_usage_gets_it(harness: Harness) -> None:
    harness.fake.script(Reply(text="hi", input_tokens=5, output_tokens=1))
    chunks = list(
        client(harness).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    usage = [c.usage for c in chunks if c.usage is not None]
    assert usage and usage[0].prompt_tokens == 5
    raw = harness.fake.requests[-1].body
    assert b'"include_usage":true' in raw.replace(b" ", b"")
