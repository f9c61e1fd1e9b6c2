"""The SSE parser: same events however the stream is cut, every byte kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from promptgate.providers.sse import Event, SSEParser

STREAM = (
    b"\xef\xbb\xbf"  # a BOM, which the spec says to skip
    b"event: message_start\r\n"
    b'data: {"type":"message_start"}\r\n'
    b"\r\n"
    b": keep-alive comment\n"
    b"\n"
    b"event: content_block_delta\n"
    b"id: 7\n"
    b'data: {"text":"caf\xc3\xa9 \xe2\x82\xac"}\n'
    b"\n"
    b"data: first line\r"
    b"data:second line\r"
    b"retry: 100\r"
    b"unknown: field\r"
    b"\r"
    b"data\n"
    b"\n"
    b"data: [DONE]\n\n"
    b"data: incomplete"
)


def fields(events: list[Event]) -> list[tuple[str, str | None, str | None]]:
    return [(e.event, e.data, e.id) for e in events]


def parse_in_pieces(data: bytes, cuts: list[int]) -> tuple[list[Event], SSEParser]:
    parser = SSEParser()
    events: list[Event] = []
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        events += parser.feed(data[previous:cut])
        previous = cut
    return events, parser


WHOLE, WHOLE_PARSER = parse_in_pieces(STREAM, [])


def test_parses_fields_line_ends_comments_and_multi_line_data() -> None:
    assert fields(WHOLE) == [
        ("message_start", '{"type":"message_start"}', None),
        ("message", None, None),
        ("content_block_delta", '{"text":"café €"}', "7"),
        ("message", "first line\nsecond line", None),
        ("message", "", None),
        ("message", "[DONE]", None),
    ]


def test_keeps_every_byte_in_event_raw_or_pending() -> None:
    assert b"".join(e.raw for e in WHOLE) + WHOLE_PARSER.pending == STREAM
    assert WHOLE[1].raw == b": keep-alive comment\n\n"
    assert WHOLE_PARSER.pending == b"data: incomplete"


def test_same_events_when_split_at_every_byte_position() -> None:
    for cut in range(len(STREAM) + 1):
        events, parser = parse_in_pieces(STREAM, [cut])
        assert events == WHOLE, f"cut at {cut}"
        assert parser.pending == WHOLE_PARSER.pending


def test_same_events_when_fed_one_byte_at_a_time() -> None:
    events, _ = parse_in_pieces(STREAM, list(range(len(STREAM))))
    assert events == WHOLE


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
def test_same_events_for_any_chunking(cuts: list[int]) -> None:
    assert parse_in_pieces(STREAM, cuts)[0] == WHOLE


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r\n\r") == []
    assert fields(parser.feed(b"\ndata: b\r\n\r\n")) == [
        ("message", "a", None),
        ("message", "b", None),
    ]


def test_several_events_in_one_chunk() -> None:
    events = SSEParser().feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\n")
    assert [e.data for e in events] == ["1", "2", "3"]
    assert [e.raw for e in events] == [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]


def test_one_leading_space_is_stripped_from_values() -> None:
    assert SSEParser().feed(b"data:  two spaces\n\n")[0].data == " two spaces"


def test_invalid_utf8_does_not_raise() -> None:
    assert SSEParser().feed(b"data: \xff\n\n")[0].data == "\ufffd"


def test_emits_each_event_as_soon_as_its_last_byte_arrives() -> None:
    ends = [sum(len(e.raw) for e in WHOLE[: i + 1]) for i in range(len(WHOLE))]
    for cut in range(len(STREAM) + 1):
        complete = [end for end in ends if end <= cut]
        # Only a final CR waits, as it may be the first half of a CRLF.
        if complete and complete[-1] == cut and STREAM[cut - 1 : cut] == b"\r":
            complete.pop()
        assert len(SSEParser().feed(STREAM[:cut])) == len(complete), f"cut at {cut}"
