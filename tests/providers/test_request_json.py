"""The strict request reader: what it refuses, and the one body it hands on."""

from __future__ import annotations

import pytest

from promptgate.providers._json import InvalidBody, load_request


def test_a_repeated_key_is_forwarded_as_the_copy_that_was_read() -> None:
    body, written = load_request(b'{"model":"a","messages":["SECRET"],"messages":[]}')
    assert body == {"model": "a", "messages": []}
    assert written == b'{"model":"a","messages":[]}'


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
