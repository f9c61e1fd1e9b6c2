"""Large subtrees read at once find exactly what a walk of every string finds."""

from __future__ import annotations

import base64
import copy
import json
import random
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptgate.guardrails import (
    UnreadableBody,
    _request,
    apply_request_guardrails,
    compile_guardrails,
)
from promptgate.guardrails._request import GuardrailOutcome
from tests.guardrails.bodies import tool_calls
from tests.recording import recorded
from tests.security.shapes import SHAPES, Shape
from tests.security.strategies import planted_bodies

ENTITIES = ["email", "phone", "ip_address", "credit_card", "iban"]
# One compiled copy per settings and way of reading: each has its own caches.
_COMPILED: dict[tuple[str, bool], Any] = {}


def spec(mode: str, **extra: Any) -> dict[str, Any]:
    return {
        "reversible_redaction": {"entities": ENTITIES, **extra},
        "secret_scanner": {"mode": mode},
    }


def outcome(
    schema: str, body: dict[str, Any], settings_: dict[str, Any], gather: bool
) -> GuardrailOutcome | str:
    """The outcome with large subtrees read at once (or never), on caches of its own."""
    key = (json.dumps(settings_, sort_keys=True), gather)
    guardrails = _COMPILED.get(key) or _COMPILED.setdefault(key, compile_guardrails(settings_))
    saved = _request.GATHER_CHARS
    _request.GATHER_CHARS = 0 if gather else 1 << 62
    try:
        return apply_request_guardrails(schema, copy.deepcopy(body), guardrails)  # type: ignore[arg-type]
    except UnreadableBody as exc:
        return f"refused: {exc}"
    finally:
        _request.GATHER_CHARS = saved


def same(schema: str, body: dict[str, Any], settings_: dict[str, Any]) -> None:
    walked = outcome(schema, body, settings_, gather=False)
    gathered = outcome(schema, body, settings_, gather=True)
    if isinstance(walked, str) or isinstance(gathered, str):
        assert walked == gathered
        return
    assert gathered.body == walked.body
    assert gathered.blocked == walked.blocked
    assert sorted(gathered.findings, key=repr) == sorted(walked.findings, key=repr)
    assert dict(gathered.placeholders) == dict(walked.placeholders)


@settings(max_examples=200, deadline=None)
@given(planted=planted_bodies(), mode=st.sampled_from(["block", "redact", "monitor"]))
def test_a_planted_secret_is_found_alike(planted: Any, mode: str) -> None:
    same(planted.schema, planted.body, spec(mode))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.schema}: {s.name}")
def test_every_hostile_shape_is_read_alike(shape: Shape) -> None:
    key = "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))
    for mode in ("block", "redact"):
        same(shape.schema, shape.build(f"mail ada@example.org, key {key}"), spec(mode))


def many_strings(planted: str, where: int, word: str = "w") -> dict[str, Any]:
    tags = [f"{word}{n}" for n in range(5_000)]
    tags[where] = planted
    return {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"tags": tags, "data": "x", "nested": {"deep": [["a", tags[:50]]]}},
    }


@pytest.mark.parametrize(
    "planted",
    [
        "ada@example.org",
        "AKIAQYLPMN5HFIQR7XZA",
        "password=Zq8xW2vR7tY5",
        "-----BEGIN PRIVATE KEY-----",
        "data:text/plain;base64,QUtJQVFZTFBNTjVIRklRUjdYWkE=",
        "CUST-123456",
        "[[EMAIL_001]]",
    ],
)
@pytest.mark.parametrize("where", [0, 1, 2_500, 4_999])
def test_one_value_among_thousands_of_strings_is_found_alike(planted: str, where: int) -> None:
    settings_ = spec("redact", custom_patterns=[{"name": "CUSTOMER", "regex": "CUST-[0-9]{6}"}])
    same("anthropic", many_strings(planted, where), settings_)


@pytest.mark.parametrize(
    "regex", [r"^w42$", r"^w4", r"9$", r"(?m)^w1\d$", r"\bw7\b", r"w[0-9]+\s+w"]
)
def test_custom_patterns_with_anchors_are_found_alike(regex: str) -> None:
    settings_ = spec("redact", custom_patterns=[{"name": "TAG", "regex": regex}])
    same("anthropic", many_strings("w42", 42), settings_)


@pytest.mark.parametrize(
    "regex", [r"\Aw42\z", r"(?-m)^w42$", r"(?i-m:^W42$)", r"\Aw4", r"2\z", r"\Aw1\d\z"]
)
@pytest.mark.parametrize("where", [0, 42, 4_999])
def test_patterns_anchored_to_the_whole_text_are_found_alike(regex: str, where: int) -> None:
    # Read joined, `\A` and `\z` hold at every line (a superset of the
    # strings alone), and only the strings a match touches are walked.
    same(
        "anthropic",
        many_strings("w42", where),
        spec("redact", custom_patterns=[{"name": "T", "regex": regex}]),
    )


@pytest.mark.parametrize(
    ("regex", "in_each"),
    [(r"^\d{6}$", False), (r"\A\d{6}\z", False), (r"(?-m:^\d{6})", True), (r"\d{6}$", True)],
)
def test_a_pattern_anchored_to_the_whole_text_is_not_counted_at_every_line(
    regex: str, in_each: bool
) -> None:
    # 300 tool results of 500 lines a number each: alone, a string holds a
    # match at its start or end at most (`^`, `\A`, `$`, `\z` hold there
    # only), though among joined strings every line starts and ends one.
    lines = ["\n".join(f"{n:06d}" for n in range(r, r + 500)) for r in range(0, 150_000, 500)]
    blocks = [
        {"type": "tool_result", "tool_use_id": f"t{n}", "content": text}
        for n, text in enumerate(lines)
    ]
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": [*blocks, {"type": "text", "text": "424242"}]}],
    }
    settings_ = spec("redact", custom_patterns=[{"name": "NUMBER", "regex": regex}])
    found = outcome("anthropic", body, settings_, gather=True)
    assert not isinstance(found, str), found
    content = found.body["messages"][0]["content"]
    # One placeholder per tool result where its first or last line alone is the match.
    assert content[-1]["text"] == ("[[NUMBER_301]]" if in_each else "[[NUMBER_001]]")
    assert (content[:-1] == blocks) is not in_each
    same("anthropic", body, settings_)


def test_patterns_anchored_to_the_whole_text_do_not_walk_every_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walked = recorded(monkeypatch, _request._Scans, "count")
    settings_ = spec("redact", custom_patterns=[{"name": "T", "regex": r"\Aw42\z"}])
    found = outcome("anthropic", many_strings("w42", 42), settings_, gather=True)
    assert not isinstance(found, str) and "w42" not in found.body["metadata"]["tags"]
    assert len(walked) < 20


@pytest.mark.parametrize("where", [0, 2_500, 4_999])
def test_offsets_in_non_ascii_text_find_the_same_strings(where: int) -> None:
    body = many_strings("naïve ☃ ada@example.org 10.1.2.3", where, word="wé☃")
    same("anthropic", body, spec("redact"))


@pytest.mark.parametrize("where", [0, 2_500])
def test_a_long_string_among_many_is_found_alike(where: int) -> None:
    long = "x " * 10_000 + "ada@example.org AKIAQYLPMN5HFIQR7XZA " + "y " * 10_000
    same("anthropic", many_strings(long, where), spec("redact"))


@pytest.mark.parametrize(
    "planted",
    [
        '{"path":"a.py","token":"AKIAQYLPMN5HFIQR7XZA"}',
        '{"path": "a.py", "to": "ada@example.org"}',
        '{"note":"x","note":"ada@example.org"}',
        '{"v": NaN, "to": "ada@example.org"}',
        '{"arguments":"{\\"to\\":\\"ada@example.org\\"}"}',
        '{"img":"data:text/plain;base64,QUtJQVFZTFBNTjVIRklRUjdYWkE="}',
        '{"to":"ada\\u0040example.org"}',
        '["ada@example.org"]',
        '"ada@example.org"',
        "not json ada@example.org",
    ],
)
@pytest.mark.parametrize("where", [0, 700, 1_499])
def test_tool_call_arguments_read_at_once_find_what_a_walk_finds(planted: str, where: int) -> None:
    arguments = [
        json.dumps({"path": f"src/m{n}.py", "n": n}, separators=(",", ":") if n % 2 else None)
        for n in range(1_500)
    ]
    arguments[where] = planted
    same("openai", tool_calls(arguments), spec("redact"))
    same("openai", tool_calls(arguments), spec("block"))


@pytest.mark.parametrize("where", [0, 63, 64, 127, 128, 191, 199])
@pytest.mark.parametrize(
    "planted",
    [
        "mail ada@example.org",
        {"type": "text", "text": "key AKIAQYLPMN5HFIQR7XZA"},
        {"type": "document", "source": {"type": "text", "data": "ada@example.org"}},
        {"type": "tool_use", "id": "t", "name": "n", "input": {"ada@example.org": [1, "x"]}},
    ],
)
def test_a_value_in_a_long_chat_of_short_messages_is_found_alike(
    planted: str | dict[str, Any], where: int
) -> None:
    # 200 messages are runs [0, 64), [64, 128), [128, 192), [192, 200).
    messages: list[dict[str, Any]] = [
        {"role": "user" if n % 2 else "assistant", "content": f"ok {n}"} for n in range(200)
    ]
    messages[where]["content"] = planted if isinstance(planted, str) else [planted]
    body = {"model": "m", "system": "be brief", "messages": messages}
    for mode in ("block", "redact"):
        same("anthropic", body, spec(mode))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "planted",
    [
        {"type": "base64", "media_type": "text/plain", "data": b64("mail ada@example.org")},
        {"type": "base64", "media_type": "application/pdf", "data": b64("AKIAQYLPMN5HFIQR7XZA")},
        {"type": "base64", "media_type": "text/plain", "data": "not base64 ada@example.org"},
        {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        {"type": "text", "media_type": "text/plain", "data": b64("ada@example.org")},
    ],
)
@pytest.mark.parametrize("where", [0, 500, 999])
def test_base64_documents_read_at_once_find_what_a_walk_finds(
    planted: dict[str, Any], where: int
) -> None:
    blocks: list[dict[str, Any]] = [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "text/plain", "data": b64(f"page {n}")},
        }
        for n in range(1_000)
    ]
    blocks[where] = {"type": "document", "source": planted}
    # A key named `data` elsewhere, with values that are not base64 at all.
    blocks[1]["data"] = "x"
    body = {"model": "m", "messages": [{"role": "user", "content": blocks}]}
    for mode in ("block", "redact"):
        same("anthropic", body, spec(mode))


@pytest.mark.parametrize(
    ("spacing", "copies"),
    [
        # 40 addresses in 440 bytes, 2,000 copies: 80,000 in ~1 MB, far past
        # twice the allowance.
        (11, 2_000),
        # One address per 107 bytes, 300 copies: 6,000 in ~650 KB, between
        # the allowance (~5,600) and twice it.
        (107, 300),
    ],
)
def test_copies_of_one_dense_string_count_once_as_a_walk_counts_them(
    spacing: int, copies: int
) -> None:
    # A walk scans the string once: its addresses are well within the allowance.
    dense = "".join(f"u{n}@ex.org".ljust(spacing) for n in range(40 if spacing < 20 else 20))
    body = {"model": "m", "messages": [{"role": "user", "content": dense}] * copies}
    gathered = outcome("anthropic", body, spec("redact"), gather=True)
    assert not isinstance(gathered, str)
    assert "u0@ex.org" not in json.dumps(gathered.body)
    same("anthropic", body, spec("redact"))


@settings(max_examples=15, deadline=None)
@given(
    pool=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=5),
    picks=st.lists(st.integers(min_value=0, max_value=4), min_size=1_000, max_size=3_000),
)
def test_repeated_strings_are_counted_once_whether_read_at_once_or_walked(
    pool: list[int], picks: list[int]
) -> None:
    # At most 200 distinct addresses: a walk accepts whatever the copies add up to.
    texts = [" ".join(f"u{n}.{i}@ex.org" for n in range(size)) for i, size in enumerate(pool)]
    messages = [{"role": "user", "content": texts[pick % len(texts)]} for pick in picks]
    body = {"model": "m", "messages": messages}
    assert not isinstance(outcome("anthropic", body, spec("redact"), gather=True), str)
    same("anthropic", body, spec("redact"))


@st.composite
def dense_chats(draw: st.DrawFn) -> dict[str, Any]:
    """Short messages with values at any density, some where none is redacted.

    The values are addresses, IPv4 addresses at the start of a string
    (`(?m:^)`) or passwords at its end (`(?m:$)`, a class that takes `\n`),
    in text, thinking, ids, or base64 in a `data` key.
    """
    size = draw(st.integers(min_value=300, max_value=3_000))
    every = draw(st.integers(min_value=1, max_value=60))
    words = draw(st.integers(min_value=0, max_value=30))
    per = draw(st.integers(min_value=1, max_value=12))
    distinct = draw(st.sampled_from([7, 50, 100_000]))
    kind = draw(st.sampled_from(["email", "ipv4", "password"]))
    messages: list[dict[str, Any]] = []
    for n in range(size):
        values = [(n * per + i) % distinct for i in range(per)]
        if kind == "email":
            text = " ".join(f"u{v}@ex.org" for v in values)
        elif kind == "ipv4":
            text = " ".join(f"10.{v % 200}.{v // 200 % 200}.{v % 7 + 1}" for v in values)
        else:
            text = " ".join(f"password=Q{v:x}secret{v}" for v in values)
        text = text if n % every == 0 else "ok"
        text = text + " x" * (n % (words + 1)) if kind != "password" else "x " * (n % 3) + text
        where = draw(st.sampled_from(["text", "thinking", "id", "repeat", "data", "sealed"]))
        encoded = base64.b64encode(text.encode()).decode()
        if where == "thinking":
            content: Any = [{"type": "thinking", "thinking": text, "signature": "c2ln"}]
        elif where == "data":
            # Base64 of the text in a key no block defines: read decoded too.
            content = [{"type": "text", "text": "ok", "data": encoded}]
        elif where == "sealed":
            content = [{"type": "redacted_thinking", "data": encoded}]
        elif where == "id":
            content = [{"type": "tool_result", "tool_use_id": text, "content": "ok"}]
        elif where == "repeat" and messages:
            content = messages[-1]["content"]
        else:
            content = text
        messages.append({"role": "user" if n % 2 else "assistant", "content": content})
    return {"model": "m", "messages": messages}


def refused_only_where_a_walk_refuses(schema: str, body: dict[str, Any]) -> None:
    """Read at once, `body` is refused only if a walk of every string refuses it too.

    Dense text is refused from the joined strings' count, before any walk;
    where both accept, both find the same.
    """
    gathered = outcome(schema, body, spec("redact"), gather=True)
    walked = outcome(schema, body, spec("redact"), gather=False)
    if isinstance(gathered, str):
        assert isinstance(walked, str)
    elif not isinstance(walked, str):
        same(schema, body, spec("redact"))


@settings(max_examples=25, deadline=None)
@given(body=dense_chats())
def test_dense_text_read_at_once_is_refused_only_where_a_walk_refuses_it(
    body: dict[str, Any],
) -> None:
    refused_only_where_a_walk_refuses("anthropic", body)


@st.composite
def dense_tool_calls(draw: st.DrawFn) -> dict[str, Any]:
    """OpenAI tool calls with addresses in their arguments at any density.

    Arguments as the SDKs write them, compact, with a `\\u` escape (not
    what orjson writes back) or repeating a key, sometimes repeated.
    """
    size = draw(st.integers(min_value=200, max_value=2_500))
    every = draw(st.integers(min_value=1, max_value=40))
    per = draw(st.integers(min_value=1, max_value=4))
    distinct = draw(st.sampled_from([5, 100_000]))
    texts: list[str] = []
    for n in range(size):
        values = {f"to{i}": f"u{(n * per + i) % distinct}@ex.org" for i in range(per)}
        shape = draw(st.sampled_from(["sdk", "compact", "escaped", "repeated", "again"]))
        if n % every:
            values = {"path": f"src/m{n}.py"}
        if shape == "compact":
            arguments = json.dumps(values, separators=(",", ":"))
        elif shape == "escaped":
            arguments = json.dumps(values).replace("@", "\\u0040", 1)
        elif shape == "repeated":
            arguments = json.dumps(values)[:-1] + ', "to0": "ok"}'
        elif shape == "again" and texts:
            arguments = texts[-1]
        else:
            arguments = json.dumps(values)
        texts.append(arguments)
    return tool_calls(texts)


@settings(max_examples=25, deadline=None)
@given(body=dense_tool_calls())
def test_dense_tool_calls_read_at_once_are_refused_only_where_a_walk_refuses_them(
    body: dict[str, Any],
) -> None:
    refused_only_where_a_walk_refuses("openai", body)


@pytest.mark.parametrize("schema", ["anthropic", "openai"])
def test_the_densest_body_a_walk_accepts_is_accepted_read_at_once(schema: str) -> None:
    # At the edge of the allowance, the joined count must not refuse what
    # the walk's own count accepts (an email in the arguments of every
    # n-th tool call, or in every n-th tiny message).
    def body(every: int) -> dict[str, Any]:
        if schema == "anthropic":
            texts = [f"u{n}@ex.org" if n % every == 0 else f"ok {n}" for n in range(3_000)]
            return {"model": "m", "messages": [{"role": "user", "content": t} for t in texts]}
        return tool_calls(
            [
                json.dumps({"to": f"u{n}@ex.org" if n % every == 0 else f"src/m{n}.py"})
                for n in range(3_000)
            ]
        )

    every = next(
        e
        for e in range(1, 200)
        if not isinstance(outcome(schema, body(e), spec("redact"), gather=False), str)
    )
    assert every > 1
    same(schema, body(every), spec("redact"))


def test_a_match_running_in_from_the_join_does_not_count_what_follows_it() -> None:
    # Alone, `fg...z` is one match (`f\w{20}`); joined after a newline, `\nf`
    # takes its first letter and g to z follow as twenty. Counting those
    # would refuse at once what a walk accepts (one per message of ~2 KB,
    # ~13 allowed).
    settings_ = spec("redact", custom_patterns=[{"name": "T", "regex": r"\nf|f\w{20}|[g-z]"}])
    filler = "0" * 2048
    letters = "fghijklmnopqrstuvwxyz"
    messages = [{"role": "user", "content": f"{letters} {filler}{n}"} for n in range(500)]
    body = {"model": "m", "messages": messages}
    assert not isinstance(outcome("anthropic", body, settings_, gather=False), str)
    assert not isinstance(outcome("anthropic", body, settings_, gather=True), str)
