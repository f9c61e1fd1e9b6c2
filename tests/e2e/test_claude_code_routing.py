"""The real Claude Code CLI through the shipped example alias, against the strict fake.

`claude-example` is `examples/claude-code`'s `claude-fast`, loaded from the
file. The fake provider refuses, as the real API does, any field the
routed model does not take, so a swap that would fail in production fails
here: every routed request must come back 200.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import pytest

from tests.fakeprovider import RecordedRequest, Reply, ToolUse

from .claude_code import run_claude
from .conftest import Harness

pytestmark = pytest.mark.e2e

ALIAS = "claude-example"


def messages(harness: Harness) -> list[RecordedRequest]:
    return [r for r in harness.fake.requests if r.path == "/v1/messages"]


def claude(harness: Harness, prompt: str, home: Path, *extra: str, **env: str) -> str:
    code, result, output = run_claude(
        harness.base(), harness.tokens["alice"], prompt, home, "--model", ALIAS, *extra, env=env
    )
    assert code == 0, output[-3000:]
    assert result is not None and not result.get("is_error"), output[-3000:]
    return output


def assert_haiku_shaped(request: RecordedRequest, *, thinking: bool = True) -> None:
    sent = request.json()
    assert isinstance(sent, dict)
    assert sent["model"] == "claude-haiku-4-5"
    assert ("thinking" in sent) is thinking
    if thinking:
        assert sent["thinking"]["type"] == "enabled"
        assert sent["thinking"]["budget_tokens"] < sent["max_tokens"]
    assert "effort" not in sent.get("output_config", {})
    assert not any(m["role"] == "system" for m in sent["messages"])
    betas = request.headers.get("anthropic-beta", "")
    assert "effort-2025-11-24" not in betas and "mid-conversation-system" not in betas


def test_a_short_question_goes_to_haiku_in_a_shape_haiku_accepts(harness: Harness) -> None:
    harness.fake.default = Reply(text="Hello from Haiku.")
    try:
        claude(harness, "Say hello", harness.directory / "cc-route-short")
    finally:
        harness.fake.default = Reply()
    (main,) = messages(harness)
    assert_haiku_shaped(main)
    record = harness.records(request_id=main.headers["x-request-id"])[0]
    assert record.status == 200, record.error
    assert (record.model_requested, record.alias, record.alias_rule) == (ALIAS, ALIAS, 1)
    assert record.estimated_input_tokens > 8000  # Claude Code's fixed overhead
    assert "thinking: adaptive -> enabled (budget_tokens 31999)" in record.model_adaptations
    assert "output_config.effort removed" in record.model_adaptations


def test_a_large_file_read_goes_to_sonnet_and_both_turns_are_accepted(harness: Harness) -> None:
    home = harness.directory / "cc-route-long"
    home.mkdir(parents=True, exist_ok=True)
    big = home / "big.py"
    big.write_text("".join(f"def function_{i}(x):\n    return x * {i}\n\n" for i in range(1500)))
    harness.fake.script(
        Reply(tool_uses=(ToolUse("Read", {"file_path": str(big)}),)),
        Reply(text="A long file of small functions."),
    )
    claude(harness, "Read big.py and summarise it.", home, "--allowedTools", "Read")
    first, second = messages(harness)
    assert_haiku_shaped(first)
    sent = second.json()
    assert isinstance(sent, dict) and sent["model"] == "claude-sonnet-4-6"
    assert sent["thinking"] == {"type": "adaptive"}  # Sonnet 4.6 takes Claude Code's own shape
    assert not any(m["role"] == "system" for m in sent["messages"])
    records = [harness.records(request_id=r.headers["x-request-id"])[0] for r in (first, second)]
    assert [(r.status, r.model_sent, r.alias_rule) for r in records] == [
        (200, "claude-haiku-4-5", 1),
        (200, "claude-sonnet-4-6", 2),
    ]
    assert "messages: 1 system message(s) folded into user turns" in records[1].model_adaptations


def test_a_subagent_on_the_small_model_slot_goes_to_haiku_and_is_logged(harness: Harness) -> None:
    harness.fake.script(
        Reply(
            tool_uses=(
                ToolUse(
                    "Agent",
                    {"description": "look", "prompt": "List files", "subagent_type": "Explore"},
                ),
            )
        )
    )
    harness.fake.default = Reply(text="Nothing here.")
    try:
        claude(
            harness,
            "Look around with an agent.",
            harness.directory / "cc-route-agent",
            "--allowedTools",
            "Agent",
            ANTHROPIC_DEFAULT_HAIKU_MODEL=ALIAS,
        )
    finally:
        harness.fake.default = Reply()
    subagent = [r for r in messages(harness) if "x-claude-code-agent-id" in r.headers]
    assert subagent, [r.headers for r in messages(harness)]
    for request in subagent:
        # Claude Code's Explore agent does not think, whatever the model.
        assert_haiku_shaped(request, thinking=False)
        record = harness.records(request_id=request.headers["x-request-id"])[0]
        assert record.status == 200 and record.model_sent == "claude-haiku-4-5"
        assert record.agent_id == request.headers["x-claude-code-agent-id"] != ""


def test_a_background_call_without_tools_goes_to_haiku_even_with_a_long_conversation(
    harness: Harness,
) -> None:
    # The shape of Claude Code's title and summary calls (interactive mode
    # only, so sent here with the SDK): no tools, a system prompt, history.
    client = anthropic.Anthropic(
        base_url=harness.base(), api_key=harness.tokens["alice"], max_retries=0
    )
    history = "user: please refactor the parser\nassistant: done\n" * 700
    client.messages.create(
        model=ALIAS,
        max_tokens=512,
        system="Summarise this conversation in a short title.",
        messages=[{"role": "user", "content": history}],
    )
    record = harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])[0]
    assert record.estimated_input_tokens > 8000  # over the conversation rule's bound
    assert (record.model_sent, record.alias_rule, record.status) == ("claude-haiku-4-5", 0, 200)


def test_claude_code_discovers_the_aliases_and_allowed_models(harness: Harness) -> None:
    home = harness.directory / "cc-discovery"
    claude(
        harness,
        "Say hello",
        home,
        CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY="1",
        # Claude Code skips discovery in essential-traffic-only mode.
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="",
    )
    (listed,) = harness.records(path=f"/api/{_project(harness)}/v1/models?limit=1000")
    assert listed.status == 200 and listed.token_id == "alice"
    cache = json.loads((home / ".claude" / "cache" / "gateway-models.json").read_text())
    ids = [m["id"] for m in cache["models"]]
    assert ids[:2] == ["claude-example", "claude-fast"]
    assert "claude-haiku-4-5" in ids and "claude-opus-4-1" not in ids  # denied in the policy
    assert "gpt-cheap" not in ids  # Claude Code keeps only claude*/anthropic* ids


def _project(harness: Harness) -> str:
    return harness.base().rsplit("/", 1)[-1]
