"""An ai_gateway project: the openai SDK against Anthropic and OpenAI-compatible providers.

The real Envoy and processor; the provider is the strict fake, which
refuses a Messages request the real API would refuse, so a translation
mistake fails here.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from promptgate.tokens import generate_token, token_hash
from tests.fakeprovider import Reply, ToolUse, error_reply

from .conftest import Harness, StartGateway

pytestmark = pytest.mark.e2e

PROJECT = "c3d4e5f6-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
TOKEN = generate_token()
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
# A 1x1 PNG.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


@pytest.fixture(scope="module")
def gateway(start_gateway: StartGateway) -> Harness:
    project: dict[str, Any] = {
        "id": PROJECT,
        "type": "ai_gateway",
        "providers": {
            "anthropic": {"credential": "anthropic-main"},
            "openai": {"credential": "openai-main"},
        },
        "tokens": [{"id": "app", "hash": token_hash(TOKEN)}],
        "aliases": {
            "smart": {"rules": [{"model": "anthropic:claude-haiku-4-5"}]},
            "cheap": {"rules": [{"model": "openai:gpt-4.1-mini"}]},
        },
        "guardrails": {
            "reversible_redaction": {"entities": ["email"]},
            "secret_scanner": {"mode": "block"},
        },
    }
    return start_gateway(projects={"app-gateway": project})


@pytest.fixture
def harness(gateway: Harness) -> Harness:
    gateway.fake.reset()
    return gateway


def client(harness: Harness) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{harness.url}/api/{PROJECT}/v1", api_key=TOKEN, max_retries=0)


def sent(harness: Harness) -> dict[str, Any]:
    body: dict[str, Any] = harness.fake.requests[-1].json()
    return body


def record_of(harness: Harness) -> Any:
    return harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])[0]


def test_a_chat_completion_is_answered_by_anthropic_in_openai_format(harness: Harness) -> None:
    harness.fake.script(
        Reply(
            text="Bonjour.",
            input_tokens=9,
            output_tokens=3,
            cache_read_input_tokens=100,
            cache_creation_5m=20,
        )
    )
    completion = client(harness).chat.completions.create(
        model="anthropic:claude-haiku-4-5",
        messages=[
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Say hello"},
        ],
        max_completion_tokens=64,
        temperature=0.3,
        stop=["END"],
    )
    assert completion.choices[0].message.content == "Bonjour."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (129, 3)
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 100
    seen = harness.fake.requests[-1]
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == harness.provider_keys["anthropic"]
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in seen.headers
    assert sent(harness) == {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}],
        "system": [{"type": "text", "text": "Answer in French."}],
        "max_tokens": 64,
        "temperature": 0.3,
        "stop_sequences": ["END"],
    }
    record = record_of(harness)
    assert (record.provider, record.model_requested, record.model_sent) == (
        "anthropic",
        "anthropic:claude-haiku-4-5",
        "claude-haiku-4-5",
    )
    assert (record.input_tokens, record.output_tokens) == (9, 3)
    assert (record.cache_read_input_tokens, record.cache_creation_input_tokens) == (100, 20)
    assert Decimal(record.cost_usd) > 0 and record.priced
    assert record.status == 200


def test_a_stream_with_usage_through_an_alias(harness: Harness) -> None:
    harness.fake.script(
        Reply(text="one two three four", input_tokens=11, output_tokens=4, write_sizes=(7, 40, 3))
    )
    chunks = list(
        client(harness).chat.completions.create(
            model="smart",
            messages=[{"role": "user", "content": "count"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and (usage[0].prompt_tokens, usage[0].completion_tokens) == (11, 4)
    assert sent(harness)["stream"] is True
    record = record_of(harness)
    assert (record.alias, record.model_sent, record.input_tokens) == (
        "smart",
        "claude-haiku-4-5",
        11,
    )
    assert record.streamed and not record.partial


def test_a_stream_without_include_usage_has_no_usage_chunk(harness: Harness) -> None:
    harness.fake.script(Reply(text="hi there", input_tokens=5, output_tokens=2))
    chunks = list(
        client(harness).chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(c.choices and c.usage is None for c in chunks)
    assert record_of(harness).output_tokens == 2


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_round_trip(harness: Harness, stream: bool) -> None:
    harness.fake.script(
        Reply(
            tool_uses=(
                ToolUse("weather", {"city": "Oslo"}, id="toolu_01"),
                ToolUse("weather", {"city": "Paris"}, id="toolu_02"),
            )
        ),
        Reply(text="Rain in Oslo, sun in Paris."),
    )
    api = client(harness)
    question = {"role": "user", "content": "Weather in Oslo and Paris?"}
    if stream:
        calls: dict[int, dict[str, str]] = {}
        finish = None
        for chunk in api.chat.completions.create(
            model="smart",
            messages=[question],
            tools=[WEATHER],
            stream=True,  # type: ignore[list-item]
        ):
            for call in chunk.choices[0].delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                assert call.function is not None
                entry["name"] += call.function.name or ""
                entry["arguments"] += call.function.arguments or ""
            finish = chunk.choices[0].finish_reason or finish
        assert finish == "tool_calls"
        tool_calls = [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"]}}
            for _, c in sorted(calls.items())
        ]  # fmt: skip
    else:
        completion = api.chat.completions.create(
            model="smart",
            messages=[question],
            tools=[WEATHER],  # type: ignore[list-item]
        )
        assert completion.choices[0].finish_reason == "tool_calls"
        message = completion.choices[0].message
        assert message.tool_calls is not None
        tool_calls = [call.model_dump() for call in message.tool_calls]
    assert [json.loads(c["function"]["arguments"]) for c in tool_calls] == [
        {"city": "Oslo"},
        {"city": "Paris"},
    ]
    assert sent(harness)["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]  # type: ignore[index]
    answer = api.chat.completions.create(
        model="smart",
        messages=[
            question,
            {"role": "assistant", "content": None, "tool_calls": tool_calls},
            {"role": "tool", "tool_call_id": "toolu_01", "content": "rain"},
            {"role": "tool", "tool_call_id": "toolu_02", "content": "sun"},
        ],  # type: ignore[list-item]
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert answer.choices[0].message.content == "Rain in Oslo, sun in Paris."
    follow_up = sent(harness)["messages"]
    assert [m["role"] for m in follow_up] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in follow_up[2]["content"]] == ["toolu_01", "toolu_02"]


def test_image_input_as_a_data_url(harness: Harness) -> None:
    harness.fake.script(Reply(text="A single pixel."))
    completion = client(harness).chat.completions.create(
        model="smart",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "A single pixel."
    image = sent(harness)["messages"][0]["content"][1]
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
    }


def test_json_schema_output_is_asked_of_anthropic(harness: Harness) -> None:
    harness.fake.script(Reply(text='{"answer": 42}'))
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    completion = client(harness).chat.completions.create(
        model="smart",
        messages=[{"role": "user", "content": "The answer?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        },
    )
    assert json.loads(completion.choices[0].message.content or "") == {"answer": 42}
    assert sent(harness)["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_async_client_streams(harness: Harness) -> None:
    import asyncio

    harness.fake.script(Reply(text="async hello"))

    async def run() -> str:
        api = openai.AsyncOpenAI(
            base_url=f"{harness.url}/api/{PROJECT}/v1", api_key=TOKEN, max_retries=0
        )
        stream = await api.chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(run()) == "async hello"


def test_an_openai_compatible_provider_gets_the_request_with_only_model_and_key_changed(
    harness: Harness,
) -> None:
    harness.fake.script(Reply(text="Hi.", input_tokens=4, output_tokens=2))
    raw = {
        "model": "cheap",
        "messages": [{"role": "user", "content": "hi"}],
        "seed": 7,
        "logit_bias": {"50256": -100},
    }
    response = httpx.post(
        f"{harness.url}/api/{PROJECT}/v1/chat/completions",
        json=raw,
        headers={"authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hi."
    seen = harness.fake.requests[-1]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {harness.provider_keys['openai']}"
    assert seen.json() == {**raw, "model": "gpt-4.1-mini"}
    assert record_of(harness).provider == "openai"


def test_a_field_anthropic_cannot_take_is_refused_by_name(harness: Harness) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(harness).chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "hi"}], seed=7
        )
    assert "seed" in info.value.message
    assert harness.fake.requests == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(529, openai.InternalServerError), (429, openai.RateLimitError)],
)
def test_provider_errors_reach_the_client_in_openai_format(
    harness: Harness, status: int, error: type[openai.APIStatusError]
) -> None:
    harness.fake.script(error_reply(status, "Overloaded, try later"))
    with pytest.raises(error) as info:
        client(harness).chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.status_code == status
    body = info.value.response.json()
    assert body["error"]["message"] == "Overloaded, try later"
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_redacted_values_come_back_inside_the_translated_stream(harness: Harness) -> None:
    harness.fake.script(Reply(text="I will write to [[EMAIL_001]] today.", delta_sizes=(3,)))
    chunks = list(
        client(harness).chat.completions.create(
            model="smart",
            messages=[{"role": "user", "content": "Email alice@example.com please"}],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "I will write to alice@example.com today."
    assert b"alice@example.com" not in harness.fake.requests[-1].body
    assert "[[EMAIL_001]]" in sent(harness)["messages"][0]["content"][0]["text"]


def test_a_secret_is_blocked_before_translation(harness: Harness) -> None:
    key = "AKIA" + "Q" * 12 + "EXAMPLE"[:4]
    with pytest.raises(openai.BadRequestError) as info:
        client(harness).chat.completions.create(
            model="smart", messages=[{"role": "user", "content": f"my key {key}"}]
        )
    assert "messages[0]" in info.value.message
    assert key not in info.value.message
    assert harness.fake.requests == []


def test_models_lists_the_aliases_and_their_targets(harness: Harness) -> None:
    ids = [model.id for model in client(harness).models.list()]
    assert ids[:2] == ["smart", "cheap"] or set(ids) >= {"smart", "cheap"}
    assert "anthropic:claude-haiku-4-5" in ids


def test_native_paths_answer_400_after_the_token_is_checked(harness: Harness) -> None:
    body = {"model": "claude-haiku-4-5", "max_tokens": 8, "messages": []}
    url = f"{harness.url}/api/{PROJECT}/v1/messages"
    wrong = httpx.post(url, json=body, headers={"x-api-key": generate_token()}, timeout=10)
    assert wrong.status_code == 401
    right = httpx.post(url, json=body, headers={"x-api-key": TOKEN}, timeout=10)
    assert right.status_code == 400
    assert right.json()["error"]["message"] == "This project is not an AI Wrapper or Agent Proxy"
    assert harness.fake.requests == []


def test_a_provider_the_project_has_not_enabled_is_refused(harness: Harness) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        client(harness).chat.completions.create(
            model="mock:anything", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError):
        client(harness).chat.completions.create(
            model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}]
        )
