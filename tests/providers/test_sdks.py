"""The official SDKs against the fake provider: error bodies and usage as they read them.

The fake renders its errors with `promptgate.providers` error bodies, so an
SDK raising the right exception with the right fields shows the bodies meet
the SDKs' expectations; comparing the SDKs' parsed usage with our own
extraction from the same bytes checks both sides of the wire format.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from promptgate.providers import SSEParser
from promptgate.providers import anthropic as anthropic_schema
from promptgate.providers import openai as openai_schema
from tests.fakeprovider import FakeProvider, Reply, ToolUse, error_reply

MESSAGES: Any = [{"role": "user", "content": "My mail is [[EMAIL_001]]"}]
SCRIPTED = Reply(
    text="Hello [[EMAIL_001]], caf\u00e9!",
    thinking="Think first.",
    tool_uses=(ToolUse("get_weather", {"city": "Paris"}),),
    input_tokens=50,
    output_tokens=30,
    cache_creation_5m=100,
    cache_creation_1h=200,
    cache_read_input_tokens=400,
    write_sizes=(5, 11, 2),
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def claude(fake: FakeProvider) -> anthropic.Anthropic:
    fake.reset()
    return anthropic.Anthropic(base_url=fake.url, api_key="test-fake-key", max_retries=0)


@pytest.fixture
def gpt(fake: FakeProvider) -> openai.OpenAI:
    fake.reset()
    return openai.OpenAI(base_url=fake.url + "/v1", api_key="test-fake-key", max_retries=0)


def raw_post(fake: FakeProvider, path: str, body: dict[str, Any]) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    conn.request("POST", path, json.dumps(body))
    data = conn.getresponse().read()
    conn.close()
    return data


def test_anthropic_sdk_reads_a_non_streamed_message_like_we_do(
    fake: FakeProvider, claude: anthropic.Anthropic
) -> None:
    fake.script(SCRIPTED, SCRIPTED)
    message = claude.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=MESSAGES)
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use"]
    ours = anthropic_schema.usage_from_body(raw_post(fake, "/v1/messages", fake.requests[0].json()))
    assert ours.input_tokens == message.usage.input_tokens == 50
    assert ours.cache_creation_input_tokens == message.usage.cache_creation_input_tokens == 300
    assert ours.cache_read_input_tokens == message.usage.cache_read_input_tokens == 400
    assert message.usage.cache_creation is not None
    assert ours.cache_creation_1h == message.usage.cache_creation.ephemeral_1h_input_tokens == 200
    assert ours.stop_reason == message.stop_reason == "tool_use"


def test_anthropic_sdk_streams_split_events_like_we_do(
    fake: FakeProvider, claude: anthropic.Anthropic
) -> None:
    fake.script(SCRIPTED, SCRIPTED)
    with claude.messages.stream(
        model="claude-haiku-4-5", max_tokens=100, messages=MESSAGES
    ) as stream:
        message = stream.get_final_message()
    assert message.content[0].type == "thinking" and message.content[0].signature
    assert (
        message.content[1].type == "text"
        and message.content[1].text == "Hello [[EMAIL_001]], caf\u00e9!"
    )
    assert message.content[2].type == "tool_use" and message.content[2].input == {"city": "Paris"}
    accumulator = anthropic_schema.StreamUsage()
    for event in SSEParser().feed(raw_post(fake, "/v1/messages", fake.requests[0].json())):
        accumulator.feed(event)
    usage = accumulator.usage
    assert accumulator.complete
    assert (usage.input_tokens, usage.output_tokens) == (
        message.usage.input_tokens,
        message.usage.output_tokens,
    )
    assert usage.cache_read_input_tokens == message.usage.cache_read_input_tokens
    assert usage.response_text == 'Think first.\nHello [[EMAIL_001]], caf\u00e9!\n{"city": "Paris"}'


def test_default_answer_echoes_through_the_sdk(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="claude-x", max_tokens=10, messages=MESSAGES)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from claude-x. You said: My mail is [[EMAIL_001]]"


def test_anthropic_sdk_counts_tokens(fake: FakeProvider, claude: anthropic.Anthropic) -> None:
    fake.count_tokens = 77
    assert claude.messages.count_tokens(model="claude-x", messages=MESSAGES).input_tokens == 77
    fake.count_tokens = None


@pytest.mark.parametrize(
    ("status", "exception", "type_"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_anthropic_sdk_raises_the_right_error_for_our_bodies(
    fake: FakeProvider,
    claude: anthropic.Anthropic,
    status: int,
    exception: type[anthropic.APIStatusError],
    type_: str,
) -> None:
    fake.script(error_reply(status, "token lacks the chat scope", retry_after=3))
    with pytest.raises(exception) as raised:
        claude.messages.create(model="claude-x", max_tokens=10, messages=MESSAGES)
    assert raised.value.status_code == status
    assert raised.value.body == {
        "type": "error",
        "error": {"type": type_, "message": "token lacks the chat scope"},
    }
    assert raised.value.response.headers["retry-after"] == "3"


def test_anthropic_sdk_raises_on_a_mid_stream_error_event(
    fake: FakeProvider, claude: anthropic.Anthropic
) -> None:
    fake.script(Reply(stream_error="overloaded_error", fail_after=5))
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        claude.messages.stream(model="claude-x", max_tokens=10, messages=MESSAGES) as stream,
    ):
        stream.get_final_message()
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_anthropic_sdk_fails_on_an_aborted_stream(
    fake: FakeProvider, claude: anthropic.Anthropic
) -> None:
    fake.script(Reply(abort=True))
    # The SDK wraps a cut at connect time, but not one met while iterating.
    with pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)):  # noqa: SIM117
        with claude.messages.stream(model="claude-x", max_tokens=10, messages=MESSAGES) as stream:
            stream.get_final_message()


def test_openai_sdk_reads_completions_like_we_do(fake: FakeProvider, gpt: openai.OpenAI) -> None:
    fake.script(SCRIPTED, SCRIPTED)
    completion = gpt.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.usage is not None and completion.usage.prompt_tokens_details is not None
    ours = openai_schema.usage_from_body(
        raw_post(fake, "/v1/chat/completions", fake.requests[0].json())
    )
    cached = completion.usage.prompt_tokens_details.cached_tokens
    assert ours.cache_read_input_tokens == cached == 400
    assert ours.input_tokens == completion.usage.prompt_tokens - 400
    assert completion.choices[0].message.tool_calls is not None


def test_openai_sdk_streams_with_usage_chunk(fake: FakeProvider, gpt: openai.OpenAI) -> None:
    fake.script(SCRIPTED)
    chunks = list(
        gpt.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello [[EMAIL_001]], caf\u00e9!"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 30


@pytest.mark.parametrize(
    ("status", "exception", "type_", "code"),
    [
        (400, openai.BadRequestError, "invalid_request_error", None),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
        (403, openai.PermissionDeniedError, "invalid_request_error", None),
        (404, openai.NotFoundError, "invalid_request_error", None),
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
    ],
)
def test_openai_sdk_raises_the_right_error_for_our_bodies(
    fake: FakeProvider,
    gpt: openai.OpenAI,
    status: int,
    exception: type[openai.APIStatusError],
    type_: str,
    code: str | None,
) -> None:
    fake.script(error_reply(status, "token lacks the chat scope"))
    with pytest.raises(exception) as raised:
        gpt.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert (raised.value.type, raised.value.code, raised.value.param) == (type_, code, None)
    assert "token lacks the chat scope" in raised.value.message


def test_openai_sdk_raises_on_a_mid_stream_error(fake: FakeProvider, gpt: openai.OpenAI) -> None:
    fake.script(Reply(stream_error="server_error", error_message="boom", fail_after=3))
    with pytest.raises(openai.APIError, match="boom"):
        list(gpt.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
