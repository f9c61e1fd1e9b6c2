"""The real Claude Code CLI through the gateway: nothing changes from its side."""

from __future__ import annotations

import pytest

from tests.fakeprovider import Reply

from .claude_code import run_claude
from .conftest import Harness

pytestmark = pytest.mark.e2e


def test_claude_code_prints_the_providers_answer(harness: Harness) -> None:
    harness.fake.default = Reply(
        text="PromptGate relayed this answer.", input_tokens=1200, output_tokens=7
    )
    try:
        code, result, output = run_claude(
            harness.base(),
            harness.tokens["alice"],
            "Say something short.",
            harness.directory / "claude-home",
        )
    finally:
        harness.fake.default = Reply()
    assert code == 0, output[-2000:]
    assert result is not None and result.get("result") == "PromptGate relayed this answer.", output
    messages = [r for r in harness.fake.requests if r.path == "/v1/messages"]
    assert messages, "Claude Code never reached the provider"
    for request in harness.fake.requests:
        assert request.headers.get("x-api-key") == harness.provider_keys["anthropic"]
        assert harness.tokens["alice"] not in str(request.headers)
        assert harness.tokens["alice"].encode() not in request.body
    main = max(messages, key=lambda r: len(r.body))
    assert main.query == "beta=true"
    assert "anthropic-beta" in main.headers
    record = harness.records(request_id=main.headers["x-request-id"])[0]
    assert record.token_id == "alice" and record.status == 200
    assert record.streamed and record.output_tokens == 7 and record.input_tokens == 1200
    assert record.user_agent.startswith("claude-cli")
    assert record.session_id == main.headers["x-claude-code-session-id"] != ""
    assert record.request_bytes == len(main.body)


def test_claude_code_gets_a_clear_401_without_retrying(harness: Harness) -> None:
    code, _result, output = run_claude(
        harness.base(),
        "pg_live_" + "N" * 38,
        "hello",
        harness.directory / "claude-home-401",
        timeout=90,
    )
    assert code != 0
    assert "invalid API token" in output or "401" in output
    assert not harness.fake.requests


@pytest.mark.parametrize("mistake", ["no-project", "trailing-v1"])
def test_claude_code_shows_how_to_fix_a_mistaken_base_url(harness: Harness, mistake: str) -> None:
    base = harness.url if mistake == "no-project" else harness.base() + "/v1"
    code, _result, output = run_claude(
        base,
        harness.tokens["alice"],
        "hello",
        harness.directory / f"claude-home-{mistake}",
        timeout=90,
    )
    assert code != 0
    # The gateway's own words, not "There's an issue with the selected model".
    assert "API Error: 400" in output and "/api/<project-id>" in output, output[-2000:]
    assert not harness.fake.requests
