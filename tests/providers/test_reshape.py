"""A swapped model gets the body Claude Code would have sent it, per the capability table."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from promptgate.providers.capabilities import CapabilityTable, ModelCapabilities
from promptgate.providers.reshape import reshape_request
from tests.corpus import load

TABLE = CapabilityTable.builtin()


def model(name: str) -> ModelCapabilities:
    found = TABLE.lookup(name)
    assert found is not None
    return found


def betas(header: str | None) -> set[str]:
    return {b.strip() for b in (header or "").split(",") if b.strip()}


def test_an_alias_shaped_request_for_haiku_matches_what_claude_code_sends_haiku() -> None:
    alias, haiku = load("main_alias"), load("main_haiku")
    shaped = reshape_request(
        alias["body"], alias["headers"]["anthropic-beta"], model("claude-haiku-4-5"), TABLE
    )
    assert shaped.body["thinking"] == haiku["body"]["thinking"]
    assert "output_config" not in shaped.body and "output_config" not in haiku["body"]
    assert shaped.body["context_management"] == haiku["body"]["context_management"]
    assert betas(shaped.beta) == betas(haiku["headers"]["anthropic-beta"])
    assert not any(m["role"] == "system" for m in shaped.body["messages"])
    assert shaped.adaptations == (
        "thinking: adaptive -> enabled (budget_tokens 31999)",
        "output_config.effort removed",
        "messages: 1 system message(s) folded into user turns",
        "anthropic-beta: removed mid-conversation-system-2026-04-07, effort-2025-11-24",
    )


def test_reshaping_leaves_the_clients_body_alone() -> None:
    body = load("main_alias")["body"]
    before = copy.deepcopy(body)
    reshape_request(body, None, model("claude-haiku-4-5"), TABLE)
    assert body == before


def test_folded_system_messages_keep_their_text_as_reminders_in_the_user_turn() -> None:
    body = load("main_alias")["body"]
    system_text = next(m["content"] for m in body["messages"] if m["role"] == "system")
    shaped = reshape_request(body, None, model("claude-sonnet-4-6"), TABLE).body
    first = shaped["messages"][0]
    assert first["role"] == "user"
    assert first["content"][-1]["text"] == f"<system-reminder>\n{system_text}\n</system-reminder>"
    assert len(shaped["messages"]) == len(body["messages"]) - 1


def test_a_system_message_before_tool_results_goes_behind_them() -> None:
    body: dict[str, Any] = {
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "R", "input": {}}],
            },
            {"role": "system", "content": "reminder"},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}],
            },
        ],
    }
    shaped = reshape_request(body, None, model("claude-sonnet-4-6"), TABLE).body
    assert [m["role"] for m in shaped["messages"]] == ["user", "assistant", "user"]
    last = shaped["messages"][-1]["content"]
    assert [b["type"] for b in last] == ["tool_result", "text"]
    assert "reminder" in last[1]["text"]


def test_a_haiku_shaped_request_for_an_adaptive_only_model_gets_adaptive_thinking() -> None:
    haiku = load("main_haiku")
    shaped = reshape_request(
        haiku["body"], haiku["headers"]["anthropic-beta"], model("claude-opus-4-7"), TABLE
    )
    assert shaped.body["thinking"] == {"type": "adaptive"}
    assert shaped.beta == haiku["headers"]["anthropic-beta"]


def test_a_haiku_shaped_request_for_sonnet_4_6_needs_no_change() -> None:
    haiku = load("main_haiku")
    shaped = reshape_request(
        haiku["body"], haiku["headers"]["anthropic-beta"], model("claude-sonnet-4-6"), TABLE
    )
    assert shaped.adaptations == () and shaped.body == haiku["body"]


def test_max_tokens_is_clamped_and_the_budget_stays_below_it() -> None:
    body = {"max_tokens": 128000, "thinking": {"type": "adaptive"}, "messages": []}
    shaped = reshape_request(body, None, model("claude-haiku-4-5"), TABLE)
    assert shaped.body["max_tokens"] == 64000
    assert shaped.body["thinking"] == {"type": "enabled", "budget_tokens": 63999}


def test_a_budget_not_below_max_tokens_is_lowered() -> None:
    body = {"max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 5000}}
    shaped = reshape_request(body, None, model("claude-haiku-4-5"), TABLE)
    assert shaped.body["thinking"]["budget_tokens"] == 4999


def test_thinking_goes_when_max_tokens_leaves_no_room_for_the_minimum_budget() -> None:
    body = {
        "max_tokens": 512,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    }
    shaped = reshape_request(body, None, model("claude-haiku-4-5"), TABLE)
    assert "thinking" not in shaped.body and "context_management" not in shaped.body


def test_an_unsupported_effort_level_falls_back_to_high() -> None:
    body = {"max_tokens": 10, "output_config": {"effort": "max", "format": {"type": "json"}}}
    shaped = reshape_request(body, None, model("claude-sonnet-4-6"), TABLE)
    assert shaped.body["output_config"] == {"effort": "high", "format": {"type": "json"}}


def test_the_1m_context_beta_is_removed_for_a_200k_model() -> None:
    shaped = reshape_request(
        {"max_tokens": 10}, "context-1m-2025-08-07", model("claude-haiku-4-5"), TABLE
    )
    assert shaped.beta is None


def test_betas_no_feature_gates_are_kept_verbatim() -> None:
    header = "claude-code-20250219, some-future-beta-2027-01-01"
    shaped = reshape_request({"max_tokens": 10}, header, model("claude-haiku-4-5"), TABLE)
    assert shaped.beta == header and shaped.adaptations == ()


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("claude-haiku-4-5", "claude-haiku-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
        ("claude-fast", None),
    ],
)
def test_dated_and_1m_names_resolve_to_their_entry(name: str, found: str | None) -> None:
    entry = TABLE.lookup(name)
    assert (entry.name if entry else None) == found


def test_every_table_entry_names_its_source_and_date() -> None:
    import json
    from importlib import resources

    raw = json.loads(
        resources.files("promptgate").joinpath("data/model_capabilities.json").read_text()
    )
    for name, entry in raw["models"].items():
        assert entry["source"].startswith("https://"), name
        assert len(entry["as_of"]) == 10, name
        assert set(entry["thinking"]) <= {"adaptive", "enabled", "disabled"}, name
