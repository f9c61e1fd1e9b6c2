"""The strict request reader: what it refuses, and the one body it hands on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptgate.providers._json import InvalidBody, load_request


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"model":"a","messages":["SECRET"],"messages":[]}', "messages"),
        (b'{"model": "a", "model": "b"}', "model"),
        (
            b'{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}',
            "messages[0].content[0].text",
        ),
        (
            b'{"tools":[{"input_schema":{"type":"object","type":"string"}}]}',
            "tools[0].input_schema.type",
        ),
        (b'{"a":{"b":1},"c":[{"d":{"e":1,"e":2}}]}', "c[0].d.e"),
    ],
)
def test_a_repeated_key_is_refused_naming_where(raw: bytes, where: str) -> None:
    with pytest.raises(InvalidBody, match=r"repeats the key (.+)$") as error:
        load_request(raw)
    assert str(error.value) == f"request body repeats the key {where}"


def test_a_repeated_key_that_may_be_data_is_not_shown() -> None:
    with pytest.raises(InvalidBody) as error:
        load_request(b'{"input":{"AKIA2345XYZ":1,"AKIA2345XYZ":2}}')
    assert str(error.value) == "request body repeats the key input.<key>"


def test_the_same_key_in_different_objects_is_fine() -> None:
    raw = b'{"messages": [{"role": "user"}, {"role": "assistant"}], "role": "x"}'
    body, written = load_request(raw)
    assert body["role"] == "x" and written == raw.replace(b": ", b":").replace(b", ", b",")


def test_escapes_are_written_back_as_the_text_they_stand_for() -> None:
    _, written = load_request(b'{"text":"AK\\u0049A"}')
    assert written == b'{"text":"AKIA"}'


def test_compact_json_comes_back_byte_for_byte() -> None:
    raw = b'{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi \xc3\xa9"}]}'
    assert load_request(raw)[1] == raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a":"\\ud800"}', "not valid JSON"),
        (b'{"a":"\xff"}', "not valid JSON"),
        (b"[1]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b'{"a":' + b"[" * 300 + b"]" * 300 + b"}", "deeper than 254 levels"),
    ],
)
def test_bodies_the_gateway_cannot_read_safely_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidBody, match=message):
        load_request(raw)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{\n  "model": "a",\n  "model": "b"\n}', "model"),
        (b'{"a": {"b": [1, {"c": 1,\t"c": 2}]}}', "a.b[1].c"),
        (b'{"a b": 1, "a b": 2}', "<key>"),
        (b'{"a": 1, "\\u0061": 2}', "a"),
    ],
)
def test_a_repeated_key_in_spaced_json_is_refused(raw: bytes, where: str) -> None:
    with pytest.raises(InvalidBody) as error:
        load_request(raw)
    assert str(error.value) == f"request body repeats the key {where}"


def test_keys_that_differ_only_in_spaces_are_not_repeats() -> None:
    body, written = load_request(b'{"a b": 1, "ab": 2, "messages": [{"x y": "p q"}]}')
    assert body == {"a b": 1, "ab": 2, "messages": [{"x y": "p q"}]}
    assert written == b'{"a b":1,"ab":2,"messages":[{"x y":"p q"}]}'


# An object as its list of (key, value) pairs, so a key may repeat.
# Keys and strings that hold what a key's end looks like: quotes, backslash
# runs before them, `":` and JSON written inside a string.
_TRICKY = ['q"', "\\", '":', '\\":', '\\\\":', '{"k": 1}', "\\" * 7 + '":']
_KEYS = st.sampled_from(["a", "b", "a ", " a", "\u00e9", "c", *_TRICKY])
_PAIRS = st.recursive(
    st.integers(0, 9) | st.sampled_from(["x", "x y", "é", *_TRICKY]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(st.tuples(_KEYS, inner), max_size=4).map(lambda pairs: ("object", pairs))
    ),
    max_leaves=12,
)


def _spaced(value: Any, space: str, escape: bool) -> str:
    """JSON text of `value` with `space` between tokens; keys as `\\u` escapes if `escape`."""
    if isinstance(value, tuple):
        pairs = [
            f"{_key(k, escape)}{space}:{space}{_spaced(v, space, escape)}" for k, v in value[1]
        ]
        return "{" + f",{space}".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + f",{space}".join(_spaced(v, space, escape) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _key(key: str, escape: bool) -> str:
    return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"' if escape else json.dumps(key)


def _repeats(value: Any) -> bool:
    if isinstance(value, tuple):
        keys = [k for k, _ in value[1]]
        return len(set(keys)) < len(keys) or any(_repeats(v) for _, v in value[1])
    return isinstance(value, list) and any(_repeats(v) for v in value)


@given(
    pairs=st.lists(st.tuples(_KEYS, _PAIRS), max_size=4),
    space=st.sampled_from(["", " ", "\n  ", "\t", "\r\n"]),
    escape=st.booleans(),
)
def test_any_repeated_key_at_any_depth_in_any_spacing_is_refused(
    pairs: list[tuple[str, Any]], space: str, escape: bool
) -> None:
    document = ("object", pairs)
    raw = _spaced(document, space, escape).encode()
    if _repeats(document):
        with pytest.raises(InvalidBody, match="repeats the key"):
            load_request(raw)
    else:
        body, written = load_request(raw)
        assert body == json.loads(raw) and json.loads(written) == body


def test_a_body_as_python_json_dumps_writes_it_skips_the_strict_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from promptgate.providers import _json

    def strict(raw: bytes) -> None:
        raise AssertionError("the strict parse ran")

    body = {"model": "m", "messages": [{"role": "user", "content": 'héllo ☃ "q" \n'}]}
    raw = json.dumps(body).encode()
    assert b"\\u00e9" in raw and b'": "' in raw
    monkeypatch.setattr(_json, "_refuse_repeated_keys", strict)
    decoded, written = load_request(raw)
    assert decoded == body
    assert written == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def test_a_repeated_key_written_as_python_writes_json_is_refused() -> None:
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "\\u00e9"}], "model": "n"}'
    with pytest.raises(InvalidBody, match="repeats the key model"):
        load_request(raw)
