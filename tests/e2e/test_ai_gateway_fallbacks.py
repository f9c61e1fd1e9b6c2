"""ai_gateway balance and fallbacks through the real Envoy and processor.

Envoy retries on the attempts route; the upstream ext_proc shapes every
attempt for its own target (translation, key, path). The fake provider
fails the way real ones do: 529, 429 with retry-after, a first byte that
never comes in time, and a port nobody listens on.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from typing import Any

import openai
import pytest

from promptgate.tokens import generate_token, token_hash
from tests.fakeprovider import Reply, error_reply

from .conftest import Harness, StartGateway, free_port

pytestmark = pytest.mark.e2e

PROJECT = "d4e5f6a7-7b8c-4d9e-8f0a-2b3c4d5e6f70"
TOKEN = generate_token()
SECOND_KEY = "sk-ant-second-" + secrets.token_hex(16)
HAIKU = "anthropic:claude-haiku-4-5"
MINI = "openai:gpt-4.1-mini"
# Cool-downs are per provider, credential and model: tests that need a
# fresh target use a model of their own.
SONNET = "anthropic:claude-sonnet-4-6"
SONNET_45 = "anthropic:claude-sonnet-4-5"


def fallbacks_policy() -> dict[str, Any]:
    """The `fallbacks` project and what it needs besides the harness's own providers."""
    os.environ["PG_TEST_ANTHROPIC_KEY_2"] = SECOND_KEY
    nobody = free_port()  # nothing listens here: connections are refused
    project: dict[str, Any] = {
        "id": PROJECT,
        "type": "ai_gateway",
        "providers": {
            "anthropic": {"credential": "anthropic-main"},
            "openai": {"credential": "openai-main"},
            "dead": {"credential": "dead-key"},
        },
        "tokens": [{"id": "app", "hash": token_hash(TOKEN)}],
        "aliases": {
            "overloaded": {"rules": [{"model": HAIKU, "fallbacks": [{"model": MINI}]}]},
            "limited": {"rules": [{"model": HAIKU, "fallbacks": [{"model": MINI}]}]},
            "fragile": {"rules": [{"model": SONNET, "fallbacks": [{"model": "openai:gpt-4.1"}]}]},
            "slow": {
                "rules": [
                    {
                        "model": MINI,
                        "first_byte_timeout_seconds": 1,
                        "fallbacks": [{"model": HAIKU}],
                    }
                ]
            },
            "refused": {"rules": [{"model": "dead:qwen3-8b", "fallbacks": [{"model": HAIKU}]}]},
            "spread": {
                "rules": [
                    {
                        "model": SONNET_45,
                        "credential": "anthropic-main",
                        "weight": 3,
                        "balance": [
                            {"model": SONNET_45, "credential": "anthropic-second", "weight": 1}
                        ],
                    }
                ]
            },
        },
        "guardrails": {"reversible_redaction": {"entities": ["email"]}},
    }
    return dict(
        providers={"dead": {"api": "openai", "base_url": f"http://127.0.0.1:{nobody}/v1"}},
        credentials={
            "anthropic-second": {
                "provider": "anthropic",
                "api_key": {"env": "PG_TEST_ANTHROPIC_KEY_2"},
            },
            "dead-key": {"provider": "dead", "api_key": {"env": "PG_TEST_OPENAI_KEY"}},
        },
        projects={"fallbacks": project},
    )


@pytest.fixture(scope="module")
def gateway(start_gateway: StartGateway) -> Harness:
    return start_gateway(**fallbacks_policy())


@pytest.fixture
def harness(gateway: Harness) -> Harness:
    gateway.fake.reset()
    return gateway


def client(harness: Harness) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{harness.url}/api/{PROJECT}/v1", api_key=TOKEN, max_retries=0)


def last_record(harness: Harness) -> Any:
    request_id = harness.fake.requests[-1].headers["x-request-id"]
    return harness.records(request_id=request_id)[0]


def attempts(record: Any) -> list[tuple[str, int]]:
    return [(a.provider, a.status) for a in record.attempts]


@pytest.mark.parametrize("stream", [False, True])
def test_a_529_falls_back_to_the_next_target_translated_for_it(
    harness: Harness, stream: bool
) -> None:
    harness.fake.script(
        error_reply(529, "Overloaded", type_="overloaded_error"),
        Reply(text="from openai", input_tokens=7, output_tokens=2),
    )
    messages = [{"role": "user", "content": "Hello, mail me at ann@example.com"}]
    if stream:
        chunks = list(
            client(harness).chat.completions.create(
                model="overloaded",
                messages=messages,
                stream=True,  # type: ignore[arg-type]
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        # The gateway asked OpenAI for usage; the client did not, so it sees none.
        assert all(c.usage is None for c in chunks)
    else:
        completion = client(harness).chat.completions.create(
            model="overloaded",
            messages=messages,  # type: ignore[arg-type]
        )
        text = completion.choices[0].message.content or ""
    assert text == "from openai"
    first, second = harness.fake.requests
    # Attempt 1: the Messages API with Anthropic's key; attempt 2: OpenAI's.
    assert first.path == "/v1/messages"
    assert first.headers["x-api-key"] == harness.provider_keys["anthropic"]
    assert "authorization" not in first.headers
    assert first.json()["model"] == "claude-haiku-4-5" and "max_tokens" in first.json()
    assert second.path == "/v1/chat/completions"
    assert second.headers["authorization"] == f"Bearer {harness.provider_keys['openai']}"
    assert "x-api-key" not in second.headers and "anthropic-version" not in second.headers
    assert second.json()["model"] == "gpt-4.1-mini"
    assert second.json()["messages"] == [
        {"role": "user", "content": "Hello, mail me at [[EMAIL_001]]"}
    ]
    for seen in (first, second):
        assert [h for h in seen.headers if h.startswith(("x-promptgate", "x-envoy"))] == []
    record = last_record(harness)
    assert attempts(record) == [("anthropic", 529), ("openai", 200)]
    assert (record.status, record.provider, record.model_sent) == (200, "openai", "gpt-4.1-mini")
    assert (record.input_tokens, record.output_tokens) == (7, 2) and record.priced


def test_a_refused_connection_falls_back_and_the_dead_target_cools_down(
    harness: Harness,
) -> None:
    api = client(harness)
    for turn in range(4):
        harness.fake.reset()
        harness.fake.script(Reply(text=f"answer {turn}"))
        answer = api.chat.completions.create(
            model="refused", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content == f"answer {turn}"
        record = last_record(harness)
        assert record.provider == "anthropic" and record.status == 200
        if turn < 3:
            assert attempts(record) == [("dead", 503), ("anthropic", 200)]
    # Three failures in a row: the dead target goes last and is not tried first.
    assert attempts(record) == [("anthropic", 200)]


def test_a_first_byte_timeout_falls_back_to_the_next_target(harness: Harness) -> None:
    harness.fake.script(
        Reply(text="too late", first_byte_delay=3.0),
        Reply(text="in time", input_tokens=4, output_tokens=2),
    )
    completion = client(harness).chat.completions.create(
        model="slow", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "in time"
    record = last_record(harness)
    assert attempts(record) == [("openai", 0), ("anthropic", 200)]
    assert 900 <= record.attempts[0].latency_ms < 2500


def test_a_429_with_retry_after_falls_back_and_cools_the_target(harness: Harness) -> None:
    harness.fake.script(error_reply(429, "slow down", retry_after=60), Reply(text="ok"))
    api = client(harness)
    first = api.chat.completions.create(
        model="limited", messages=[{"role": "user", "content": "hi"}]
    )
    assert first.choices[0].message.content == "ok"
    assert attempts(last_record(harness)) == [("anthropic", 429), ("openai", 200)]
    harness.fake.reset()
    harness.fake.script(Reply(text="straight to openai"))
    second = api.chat.completions.create(
        model="limited", messages=[{"role": "user", "content": "hi"}]
    )
    assert second.choices[0].message.content == "straight to openai"
    assert attempts(last_record(harness)) == [("openai", 200)]


def test_when_every_target_fails_the_client_gets_the_last_error_in_openai_format(
    harness: Harness,
) -> None:
    harness.fake.script(
        error_reply(529, "Overloaded", type_="overloaded_error"),
        error_reply(503, "down for maintenance"),
    )
    with pytest.raises(openai.APIStatusError) as caught:
        client(harness).chat.completions.create(
            model="fragile", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 503
    assert "down for maintenance" in str(caught.value)
    assert attempts(last_record(harness)) == [("anthropic", 529), ("openai", 503)]


def test_requests_spread_over_two_keys_by_weight(harness: Harness) -> None:
    api = client(harness)
    for _ in range(200):
        api.chat.completions.create(model="spread", messages=[{"role": "user", "content": "hi"}])
    keys = Counter(r.headers["x-api-key"] for r in harness.fake.requests)
    main, second = keys[harness.provider_keys["anthropic"]], keys[SECOND_KEY]
    print(f"spread over 200 requests, weights 3:1: {main} main, {second} second")
    assert main + second == 200
    # Weight 3:1 -> 150 expected; 120..180 is more than five standard deviations.
    assert 120 <= main <= 180


def test_with_two_processors_every_attempt_is_logged_with_its_outcome(
    start_gateway: StartGateway,
) -> None:
    # Envoy spreads the exchange and each attempt over both processes: an
    # attempt served by the other one reports to the exchange's process.
    fleet = start_gateway(processors=2, **fallbacks_policy())
    for n in range(8):
        fleet.fake.script(
            error_reply(529, "Overloaded", type_="overloaded_error"), Reply(text=f"answer {n}")
        )
        completion = client(fleet).chat.completions.create(
            model="overloaded", messages=[{"role": "user", "content": f"question {n}"}]
        )
        assert completion.choices[0].message.content == f"answer {n}"
        record = last_record(fleet)
        # Which target goes first changes once the first has cooled down.
        assert [status for _, status in attempts(record)] == [529, 200], n
        assert all(a.latency_ms > 0 for a in record.attempts), n
