"""The strict request reader: what it refuses, and the one body it hands on."""

from __future__ import annotations

import pytest

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
