"""The strings of JSON values read at once are the strings a walk visits, in its order."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptgate.guardrails import _jsonstrings
from promptgate.guardrails._jsonstrings import (
    MAX_RUN,
    NotOrjsonOutput,
    joined_strings,
    string_count,
    unescaped_quotes,
)
from promptgate.guardrails._patternset import JOIN

# Text that exercises every escape orjson writes, and what looks like one.
TEXT = st.text(
    alphabet=st.sampled_from(
        ['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "u", "é", "☃", "a", " "]
    ),
    max_size=12,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def walked(value: Any, into: list[str]) -> list[str]:
    """Keys and strings in the walk's order: a key, then what its value holds."""
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            into.append(key)
            walked(item, into)
    elif isinstance(value, list):
        for item in value:
            walked(item, into)
    return into


@settings(max_examples=300, deadline=None)
@given(values=st.lists(JSON, max_size=5), sparse=st.booleans(), long=st.sampled_from([3, 1 << 20]))
def test_every_key_and_string_is_read_in_walk_order(
    values: list[Any], sparse: bool, long: int
) -> None:
    # Both readers: Python collection for sparse JSON, quote splitting for dense.
    saved = _jsonstrings.SPARSE_BYTES
    _jsonstrings.SPARSE_BYTES = 1 if sparse else 1 << 30
    try:
        strings = joined_strings([(v, orjson.dumps(v)) for v in values], long)
    finally:
        _jsonstrings.SPARSE_BYTES = saved
    expected = [walked(v, []) for v in values]
    flat = [s for texts in expected for s in texts]
    # Long is counted in characters or in escaped bytes: either way at least this.
    certain = {i for i, s in enumerate(flat) if len(s) >= long}
    possible = {i for i, s in enumerate(flat) if len(orjson.dumps(s)) - 2 >= long}
    assert certain <= set(strings.long) <= possible
    kept = ["" if i in strings.long else s for i, s in enumerate(flat)]
    assert strings.data == JOIN.join(kept).encode("utf-8")
    assert len(strings.starts) == len(flat) + 1
    for i, text in enumerate(kept):
        begin, end = strings.starts[i], strings.starts[i + 1] - len(JOIN)
        assert strings.data[begin:end] == text.encode("utf-8")
        assert strings.string_at(begin) == i
    assert strings.firsts == [sum(len(t) for t in expected[:n]) for n in range(len(values) + 1)]
    for value in values:
        assert string_count(orjson.dumps(value)) == len(walked(value, []))


@pytest.mark.parametrize("sparse", [1, 1 << 30])
def test_the_string_values_of_the_keys_asked_for_are_found(sparse: int) -> None:
    value = {
        "data": "data",
        "x": ["data", {"data": 'q"data":"', "n": {"data": 1}}, {"metadata": "y", "data": ""}],
    }
    saved = _jsonstrings.SPARSE_BYTES
    _jsonstrings.SPARSE_BYTES = sparse
    try:
        strings = joined_strings(
            [("s", b""), (value, orjson.dumps(value))], 1 << 20, frozenset({"data"})
        )
    finally:
        _jsonstrings.SPARSE_BYTES = saved
    # Strings: s, data, data, x, data, data, q"data":", n, data, metadata, y, data, "".
    assert strings.under == {"data": [2, 6, 12]}


def test_a_string_holding_the_join_itself_is_counted_per_string() -> None:
    value = ["a\n\x00\nb", 'q"', "c"]
    strings = joined_strings([(value, orjson.dumps(value))], 1 << 20)
    assert [
        strings.data[strings.starts[i] : strings.starts[i + 1] - len(JOIN)] for i in range(3)
    ] == [
        b"a\n\x00\nb",
        b'q"',
        b"c",
    ]


def test_json_orjson_never_writes_is_not_read_as_if_it_were() -> None:
    # `\u00e9` (é, two bytes) beside a string holding `JOIN`: the strings
    # cannot be placed, and the reader says so instead of guessing.
    data = b'["\\u00e9","a\\n\\u0000\\nb"]'
    assert orjson.loads(data) == ["é", "a\n\x00\nb"]
    with pytest.raises(NotOrjsonOutput):
        joined_strings([(orjson.loads(data), data)], 1 << 20)


@pytest.mark.parametrize("times", range(9))
def test_strings_are_counted_in_json_nested_in_json_any_number_of_times(times: int) -> None:
    # Each level doubles the backslashes before a quote: past six levels of
    # the alternating counts the escapes are masked instead.
    value: Any = {"path": 'a "b" \\ c', "n": [1, "x"]}
    for _ in range(times):
        value = {"arguments": orjson.dumps(value).decode(), "k": ["\\", '"']}
    assert string_count(orjson.dumps(value)) == len(walked(value, []))
    strings = joined_strings([(value, orjson.dumps(value))], 1 << 20)
    assert len(strings.starts) - 1 == len(walked(value, []))


@pytest.mark.parametrize("run", [1, 2, 5, 6, 7, 50])
def test_a_quote_after_a_run_of_backslashes_is_read_as_written(run: int) -> None:
    value = ["\\" * run + '"', "\\" * run, '"' * run]
    assert string_count(orjson.dumps(value)) == 3


BYTES = st.lists(st.sampled_from([b'"', b"\\", b":", b"a"]), max_size=40).map(b"".join)


def reference(data: bytes) -> int:
    """Quotes after an even run of backslashes (none included)."""
    return sum(
        1
        for at in range(len(data))
        if data[at : at + 1] == b'"' and (at - len(data[:at].rstrip(b"\\"))) % 2 == 0
    )


@given(data=BYTES)
def test_quotes_no_backslash_escapes_are_counted(data: bytes) -> None:
    run = max((len(r) for r in re.findall(rb"\\+", data)), default=0)
    counted = unescaped_quotes(data)
    if run < MAX_RUN:
        assert counted == reference(data)
    else:
        # A long run before some quote is left to the masked count; never a wrong count.
        assert counted in (None, reference(data))


def test_a_long_run_before_a_quote_is_left_to_the_masked_count() -> None:
    assert unescaped_quotes(b'"a' + b"\\" * MAX_RUN + b'""') is None
    assert unescaped_quotes(b'"a' + b"\\" * (MAX_RUN - 1) + b'""') == 2
