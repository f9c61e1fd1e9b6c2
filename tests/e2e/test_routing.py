"""Alias routing on the estimated token count, headers and stream flag; model access."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.fakeprovider import Reply

from .claude_code import run_claude
from .conftest import Harness

pytestmark = pytest.mark.e2e


def anthropic_client(harness: Harness) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=harness.base(), api_key=harness.tokens["alice"], max_retries=0
    )


def test_short_prompt_goes_to_haiku_and_long_to_sonnet(harness: Harness) -> None:
    client = anthropic_client(harness)
    short = client.messages.create(
        model="claude-fast", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    long_text = "Please review this code. " + "def f(x):\n    return x * 2\n" * 800
    long = client.messages.create(
        model="claude-fast", max_tokens=16, messages=[{"role": "user", "content": long_text}]
    )
    assert short.content and long.content
    sent = [r.json()["model"] for r in harness.fake.requests]  # type: ignore[index]
    assert sent == ["claude-haiku-4-5", "claude-sonnet-4-6"]
    first, second = (
        harness.records(request_id=r.headers["x-request-id"])[0] for r in harness.fake.requests
    )
    assert (first.model_requested, first.model_sent, first.alias, first.alias_rule) == (
        "claude-fast",
        "claude-haiku-4-5",
        "claude-fast",
        0,
    )
    assert (second.model_sent, second.alias_rule) == ("claude-sonnet-4-6", 1)
    assert first.estimated_input_tokens < 4000 <= second.estimated_input_tokens


def test_routing_changes_only_the_model(harness: Harness) -> None:
    raw = (
        b'{"model":"claude-fast","max_tokens":16,"metadata":{"user_id":"u-1"},'
        b'"messages":[{"role":"user","content":"hi"}],"temperature":0.25}'
    )
    response = httpx.post(
        f"{harness.base()}/v1/messages",
        content=raw,
        timeout=10,
        headers={"x-api-key": harness.tokens["alice"], "content-type": "application/json"},
    )
    assert response.status_code == 200
    sent = harness.fake.requests[-1].json()
    assert sent == {
        "model": "claude-haiku-4-5",
        "max_tokens": 16,
        "metadata": {"user_id": "u-1"},
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.25,
    }


def test_count_tokens_with_alias_is_rewritten_too(harness: Harness) -> None:
    harness.fake.count_tokens = 42
    counted = anthropic_client(harness).messages.count_tokens(
        model="claude-fast", messages=[{"role": "user", "content": "count"}]
    )
    assert counted.input_tokens == 42
    assert harness.fake.requests[-1].json()["model"] == "claude-haiku-4-5"  # type: ignore[index]


def test_header_and_stream_conditions(harness: Harness) -> None:
    client = openai.OpenAI(
        base_url=harness.base() + "/v1", api_key=harness.tokens["alice"], max_retries=0
    )
    messages = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(
        model="gpt-cheap",
        messages=messages,  # type: ignore[arg-type]
        extra_headers={"x-tier": "premium"},
    )
    list(
        client.chat.completions.create(
            model="gpt-cheap",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
        )
    )
    client.chat.completions.create(model="gpt-cheap", messages=messages)  # type: ignore[arg-type]
    sent = [r.json()["model"] for r in harness.fake.requests]  # type: ignore[index]
    assert sent == ["gpt-4.1", "gpt-4o-mini", "gpt-4.1-mini"]


def test_denied_model_is_403_permission_error(harness: Harness) -> None:
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        anthropic_client(harness).messages.create(
            model="claude-opus-4-1", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert "claude-opus-4-1" in caught.value.message
    assert not harness.fake.requests


def test_claude_code_with_alias_model(harness: Harness) -> None:
    harness.fake.default = Reply(text="Routed.", input_tokens=900, output_tokens=2)
    try:
        code, result, output = run_claude(
            harness.base(),
            harness.tokens["alice"],
            "hello",
            harness.directory / "cc-routing",
            "--model",
            "claude-fast",
        )
    finally:
        harness.fake.default = Reply()
    assert code == 0, output[-2000:]
    assert result is not None and result["result"] == "Routed.", output
    main = max(
        (r for r in harness.fake.requests if r.path == "/v1/messages"), key=lambda r: len(r.body)
    )
    # Claude Code's first request carries ~20k tokens of tools and system prompt.
    assert main.json()["model"] == "claude-sonnet-4-6"  # type: ignore[index]
    record = harness.records(request_id=main.headers["x-request-id"])[0]
    assert record.alias == "claude-fast" and record.model_sent == "claude-sonnet-4-6"


def test_cost_and_savings_are_logged_and_reported(harness: Harness) -> None:
    import json
    import subprocess
    import sys
    from decimal import Decimal

    from promptgate.pricing import PriceTable

    harness.fake.script(
        Reply(text="cheap", input_tokens=1000, output_tokens=100, cache_read_input_tokens=2000)
    )
    anthropic_client(harness).messages.create(
        model="claude-fast", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    record = harness.records(request_id=harness.fake.requests[-1].headers["x-request-id"])[0]
    haiku = PriceTable.builtin().lookup("claude-haiku-4-5")
    sonnet = PriceTable.builtin().lookup("claude-sonnet-4-6")
    assert haiku is not None and sonnet is not None

    def expected(price: object) -> Decimal:
        p = price  # Price: USD per million tokens
        return (1000 * p.input + 100 * p.output + 2000 * p.cache_read) / Decimal(1_000_000)  # type: ignore[attr-defined]

    assert record.priced
    assert Decimal(record.cost_usd) == expected(haiku)
    assert Decimal(record.requested_model_cost_usd) == expected(sonnet)
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "promptgate",
            "costs",
            "--since",
            "1h",
            "--by",
            "alias",
            "--format",
            "json",
            "--store",
            f"sqlite:///{harness.store_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    group = next(g for g in json.loads(report.stdout)["groups"] if g["alias"] == "claude-fast")
    assert group["routed_requests"] >= 1
    assert Decimal(group["savings_usd"]) >= expected(sonnet) - expected(haiku) > 0
