"""Re-sent parts of a request are not walked again, and nothing changes because of it."""

from __future__ import annotations

import copy
import itertools
import random
import string
from typing import Any

import pytest

from promptgate.guardrails import SecretMemory, apply_request_guardrails, compile_guardrails
from promptgate.guardrails._slots import RUN, runs
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
    apply_request_guardrails("anthropic", conversation(40), guardrails)
    before = len(SUBTREES)
    apply_request_guardrails("anthropic", conversation(41), guardrails)
    # 80 messages were runs [0, 64) and [64, 80); the two new ones are run [80, 82).
    assert len(SUBTREES) - before == 1


@pytest.mark.parametrize("length", [1, 2, 3, 63, 64, 65, 100, 130, 1000])
def test_an_array_is_cut_into_aligned_runs_that_cover_it(length: int) -> None:
    cut = runs(length)
    assert [start for start, _ in cut] == list(
        itertools.accumulate((size for _, size in cut[:-1]), initial=0)
    )
    assert sum(size for _, size in cut) == length
    for start, size in cut:
        assert size <= RUN and size & (size - 1) == 0 and start % size == 0
    # Growing by one element keeps every run but the last few.
    assert len(set(cut) - set(runs(length + 1))) <= 1 + (length + 1).bit_length()


def test_the_cache_holds_exact_size_keys_so_its_bound_is_a_memory_bound() -> None:
    import tracemalloc

    import orjson

    from promptgate.guardrails._subtrees import SubtreeCache

    cache = SubtreeCache(max_bytes=1 << 30)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(200):
            cache.put(("ctx", orjson.dumps({"text": "x" * 8000, "i": i})), ())
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 200 keys of ~8 KB: well under 2x their length (orjson's own buffers are ~8x).
    assert held < 2 * 200 * 8100


def test_a_run_found_again_at_another_position_is_placed_there() -> None:
    guardrails = compile_guardrails(spec("redact"))
    messages = [{"role": "user", "content": f"note {n}"} for n in range(128)]
    messages[70]["content"] = "mail ada@ex.org"
    apply_request_guardrails("anthropic", {"model": "m", "messages": messages}, guardrails)
    before = len(SUBTREES)
    # The history lost its first 64 messages: run [64, 128) is now run [0, 64).
    trimmed = {"model": "m", "messages": messages[64:]}
    outcome = apply_request_guardrails("anthropic", trimmed, guardrails)
    assert len(SUBTREES) == before
    assert outcome.body["messages"][6]["content"] == "mail [[EMAIL_001]]"
    assert [f.location for f in outcome.findings] == ["messages[6].content"]
