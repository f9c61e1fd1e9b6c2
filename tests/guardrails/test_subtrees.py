"""Re-sent parts of a request are not walked again, and nothing changes because of it."""

from __future__ import annotations

import copy
import random
import string
from typing import Any

from promptgate.guardrails import SecretMemory, apply_request_guardrails, compile_guardrails
from promptgate.guardrails._subtrees import SUBTREES, SubtreeCache


def fake_github_token() -> str:
    return "ghp_" + "".join(random.choices(string.ascii_letters + string.digits, k=36))


def spec(mode: str = "block", include_system: bool = False) -> dict[str, Any]:
    return {
        "reversible_redaction": {"entities": ["email"], "include_system": include_system},
        "secret_scanner": {"mode": mode},
    }


def conversation(turns: int) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for n in range(turns):
        messages.append(
            {"role": "user", "content": [{"type": "text", "text": f"mail u{n}@ex.org"}]}
        )
        messages.append({"role": "assistant", "content": f"done {n} for u{n % 2}@ex.org"})
    return {
        "model": "claude-sonnet-4-6",
        "system": [{"type": "text", "text": "owner: boss@ex.org"}],
        "tools": [{"name": "t", "description": "writes to ops@ex.org", "input_schema": {}}],
        "messages": messages,
    }


def test_a_resent_body_comes_out_as_a_cold_scan_makes_it() -> None:
    warm = compile_guardrails(spec())
    for turns in range(1, 6):
        apply_request_guardrails("anthropic", conversation(turns), warm)
    body = conversation(6)
    again = apply_request_guardrails("anthropic", body, warm)
    cold = apply_request_guardrails("anthropic", copy.deepcopy(body), compile_guardrails(spec()))
    assert again.body == cold.body
    assert dict(again.placeholders) == dict(cold.placeholders)
    assert sorted(again.findings, key=repr) == sorted(cold.findings, key=repr)
    # Numbered by first appearance: u0 is EMAIL_001 wherever the history is cut.
    assert again.body["messages"][0]["content"][0]["text"] == "mail [[EMAIL_002]]"
    assert again.body["system"][0]["text"] == "owner: boss@ex.org"


def test_the_same_subtree_is_redacted_where_redaction_applies_and_not_elsewhere() -> None:
    guardrails = compile_guardrails(spec(include_system=False))
    block = {"type": "text", "text": "call ada@ex.org"}
    body = {"model": "m", "system": [block], "messages": [{"role": "user", "content": [block]}]}
    outcome = apply_request_guardrails("anthropic", body, guardrails)
    assert outcome.body["system"][0]["text"] == "call ada@ex.org"
    assert outcome.body["messages"][0]["content"][0]["text"] == "call [[EMAIL_001]]"
    # OpenAI: a system message and a user message with equal bytes but other roles.
    same = {"role": "system", "content": "call ada@ex.org"}
    body = {"model": "m", "messages": [same, {**same, "role": "user"}, same]}
    outcome = apply_request_guardrails("openai", body, guardrails)
    contents = [m["content"] for m in outcome.body["messages"]]
    assert contents == ["call ada@ex.org", "call [[EMAIL_001]]", "call ada@ex.org"]


def test_a_remembered_subtree_with_a_secret_still_blocks_a_new_scope() -> None:
    guardrails = compile_guardrails(spec())
    memory = SecretMemory()
    key = fake_github_token()
    body = {"model": "m", "messages": [{"role": "user", "content": f"use {key}"}]}
    first = apply_request_guardrails("anthropic", body, guardrails, memory, "p/alice")
    assert first.blocked is not None
    repeat = apply_request_guardrails("anthropic", body, guardrails, memory, "p/alice")
    assert repeat.blocked is None and key not in str(repeat.body)
    other = apply_request_guardrails("anthropic", body, guardrails, memory, "p/bob")
    assert other.blocked is not None and other.blocked.rule == "github-pat"


def test_guardrails_with_other_rules_do_not_share_what_they_found() -> None:
    strict = compile_guardrails(spec())
    extra = {
        "secret_scanner": {
            "mode": "block",
            "extra_rules": [{"id": "internal", "regex": "INT-[0-9]{8}", "keywords": ["int-"]}],
        }
    }
    body = {"model": "m", "messages": [{"role": "user", "content": "ticket INT-12345678"}]}
    assert apply_request_guardrails("anthropic", body, strict).blocked is None
    assert (
        apply_request_guardrails("anthropic", body, compile_guardrails(extra)).blocked is not None
    )


def test_the_cache_forgets_the_oldest_beyond_its_byte_budget() -> None:
    cache = SubtreeCache(max_bytes=1000)
    for n in range(20):
        cache.put(((0, "anthropic", ()), b"x" * 100 + str(n).encode()), ())
    assert len(cache) <= 9
    assert cache.get(((0, "anthropic", ()), b"x" * 100 + b"19")) == ()
    assert cache.get(((0, "anthropic", ()), b"x" * 100 + b"0")) is None


def test_re_sent_history_is_found_in_the_cache() -> None:
    guardrails = compile_guardrails(spec())
    apply_request_guardrails("anthropic", conversation(3), guardrails)
    before = len(SUBTREES)
    apply_request_guardrails("anthropic", conversation(4), guardrails)
    # Only the two new messages are new subtrees.
    assert len(SUBTREES) - before == 2
