"""The fake refuses what the real Messages API refuses, in the API's own error format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.corpus import load

from . import FakeProvider
from .test_fakeprovider import post


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


def send(fake: FakeProvider, body: dict[str, Any], beta: str | None = None) -> tuple[int, Any]:
    headers = {"anthropic-beta": beta} if beta is not None else {}
    status, _headers, raw = post(fake, "/v1/messages", body, headers)
    return status, json.loads(raw)


def refused(fake: FakeProvider, body: dict[str, Any], beta: str | None = None) -> str:
    status, payload = send(fake, body, beta)
    assert status == 400, payload
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    message: str = payload["error"]["message"]
    return message


def body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 2000,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def test_adaptive_thinking_on_haiku_4_5_is_refused(fake: FakeProvider) -> None:
    assert "thinking.type.adaptive" in refused(fake, body(thinking={"type": "adaptive"}))


def test_effort_on_haiku_4_5_is_refused(fake: FakeProvider) -> None:
    message = refused(fake, body(output_config={"effort": "high"}))
    assert "effort" in message and "claude-haiku-4-5" in message


def test_enabled_thinking_on_an_adaptive_only_model_is_refused(fake: FakeProvider) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    assert "thinking.type.enabled" in refused(
        fake, body(model="claude-opus-4-7", thinking=thinking)
    )


def test_a_budget_not_below_max_tokens_is_refused(fake: FakeProvider) -> None:
    message = refused(fake, body(thinking={"type": "enabled", "budget_tokens": 2000}))
    assert "`max_tokens` must be greater than `thinking.budget_tokens`" in message


def test_a_budget_below_the_minimum_is_refused(fake: FakeProvider) -> None:
    assert "1024" in refused(fake, body(thinking={"type": "enabled", "budget_tokens": 512}))


def test_max_tokens_above_the_models_limit_is_refused(fake: FakeProvider) -> None:
    assert "64000" in refused(fake, body(max_tokens=64001))


def test_an_unknown_beta_is_refused(fake: FakeProvider) -> None:
    message = refused(fake, body(), "claude-code-20250219,made-up-beta-2030-01-01")
    assert message.startswith("Unexpected value(s) `made-up-beta-2030-01-01`")


def test_the_1m_context_beta_is_refused_for_a_200k_model(fake: FakeProvider) -> None:
    assert "long context" in refused(fake, body(), "context-1m-2025-08-07")


def test_a_system_message_needs_the_beta_and_a_model_that_takes_it(fake: FakeProvider) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "system", "content": "note"}]
    beta = "mid-conversation-system-2026-04-07"
    assert "Unexpected role" in refused(fake, body(model="claude-future-9", messages=messages))
    assert "Unexpected role" in refused(fake, body(messages=messages), beta)
    assert send(fake, body(model="claude-future-9", messages=messages), beta)[0] == 200


def test_more_than_four_cache_breakpoints_are_refused(fake: FakeProvider) -> None:
    block = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    messages = [{"role": "user", "content": [block] * 5}]
    assert "Found 5" in refused(fake, body(messages=messages))


def test_a_tool_result_without_its_tool_use_is_refused(fake: FakeProvider) -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": ""}]},
    ]
    assert "unexpected `tool_use_id`" in refused(fake, body(messages=messages))


def test_a_tool_use_without_its_result_is_refused(fake: FakeProvider) -> None:
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "R", "input": {}}],
        },
        {"role": "user", "content": "never mind"},
    ]
    assert "without `tool_result`" in refused(fake, body(messages=messages))


def test_max_tokens_is_required_on_messages(fake: FakeProvider) -> None:
    assert refused(fake, {"model": "claude-haiku-4-5", "messages": []}).startswith(
        "max_tokens: Field required"
    )


@pytest.mark.parametrize("name", ["main_alias", "main_haiku", "main_sonnet", "tool_loop_alias"])
def test_real_claude_code_requests_for_their_own_model_are_accepted(
    fake: FakeProvider, name: str
) -> None:
    recorded = load(name)
    sent = dict(recorded["body"], stream=False)
    if sent["model"] == "claude-fast":
        # Claude Code shaped it for an unknown (newest) model; the API would
        # take it for such a model, which the table does not list.
        sent["model"] = "claude-future-9"
    assert send(fake, sent, recorded["headers"]["anthropic-beta"])[0] == 200


def test_an_alias_shaped_claude_code_request_sent_to_haiku_unchanged_is_refused(
    fake: FakeProvider,
) -> None:
    # Issue 12: what a gateway that only swaps the model name would send.
    recorded = load("main_alias")
    sent = dict(recorded["body"], model="claude-haiku-4-5", stream=False)
    status, _payload = send(fake, sent, recorded["headers"]["anthropic-beta"])
    assert status == 400


def test_a_lenient_fake_accepts_anything(fake: FakeProvider) -> None:
    fake.strict = False
    assert send(fake, body(thinking={"type": "adaptive"}))[0] == 200
