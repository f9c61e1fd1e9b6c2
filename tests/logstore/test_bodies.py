"""Bodies stored by content: exact round trips, and a new turn costs only what is new."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptgate.logstore import _bodies
from tests.recording import recorded

paragraph = st.text(min_size=0, max_size=3000)


@given(st.lists(paragraph, max_size=30))
def test_chunks_join_back_to_the_exact_text(paragraphs: list[str]) -> None:
    text = "\n\n".join(paragraphs)
    assert _bodies.join(_bodies.chunks(text)) == text


def test_a_turn_that_appends_a_message_adds_only_new_chunks() -> None:
    history = "\n\n".join(f"turn {i}: " + "lorem ipsum dolor " * (20 + i % 7) for i in range(200))
    first = {_bodies.digest(c) for c in _bodies.chunks(history)}
    later = history + "\n\nthe newest question, asked once"
    second = [_bodies.digest(c) for c in _bodies.chunks(later)]
    new = [d for d in second if d not in first]
    # Only the chunk holding the end of the text can differ.
    assert len(new) == 1
    assert second[-1] in new


def test_an_edit_in_the_middle_changes_only_nearby_chunks() -> None:
    paragraphs = [f"paragraph {i} " + "x" * (100 + 37 * i % 400) for i in range(300)]
    before = [_bodies.digest(c) for c in _bodies.chunks("\n\n".join(paragraphs))]
    paragraphs[150] = "an edited paragraph"
    after = [_bodies.digest(c) for c in _bodies.chunks("\n\n".join(paragraphs))]
    assert len(set(after) - set(before)) <= 2
    assert len(before) > 20


def test_one_huge_paragraph_is_cut_into_bounded_chunks_only_at_paragraphs() -> None:
    text = "y" * 200_000
    pieces = _bodies.chunks(text)
    # A single paragraph cannot be split: it is one chunk, compressed well.
    assert pieces == [text.encode()]
    assert len(_bodies.compress(pieces[0])) < 1000


def test_compression_round_trips() -> None:
    data = "ünïcode and text ".encode() * 100
    assert _bodies.decompress(_bodies.compress(data)) == data


def test_compressing_many_chunks_at_once_makes_the_same_frames() -> None:
    pieces = [f"chunk {i} ".encode() * (i * 37 % 500 + 1) for i in range(50)]
    frames = _bodies.compress_all(pieces)
    assert frames == [_bodies.compress(piece) for piece in pieces]
    assert [_bodies.decompress(frame) for frame in frames] == pieces
    assert _bodies.compress_all([]) == []


def test_cap_keeps_head_and_tail_and_says_how_much_went() -> None:
    text = "HEAD" + "m" * 10_000 + "TAIL"
    capped, cut = _bodies.cap_body(text, 1000)
    assert capped.startswith("HEAD") and capped.endswith("TAIL")
    assert cut == len(text) - 1000
    assert f"[... {cut} bytes cut by logging.max_body_kib ...]" in capped


def test_cap_leaves_short_text_and_a_zero_limit_alone() -> None:
    assert _bodies.cap_body("short", 1000) == ("short", 0)
    assert _bodies.cap_body("x" * 5000, 0) == ("x" * 5000, 0)


def test_cap_turns_a_lone_surrogate_into_a_replacement_character() -> None:
    assert _bodies.cap_body("a\ud800b", 1000) == ("a\ufffdb", 0)
    capped, cut = _bodies.cap_body("\udfff" + "m" * 5000 + "\ud800", 1000)
    assert cut > 0 and capped.startswith("\ufffd") and capped.endswith("\ufffd")


def test_cap_never_splits_a_character() -> None:
    capped, cut = _bodies.cap_body("é" * 1000, 101)
    assert cut > 0
    capped.encode("utf-8")


# Paragraph pieces that make boundaries likely: "\n" runs next to separators,
# non-ASCII, surrogates (kept by "surrogatepass"), and sizes around MIN_CHUNK.
piece = st.one_of(
    st.text(min_size=0, max_size=40),
    st.sampled_from(["", "\n", "\n\n\n", "é" * 700, "\ud800", "x" * 1100, "y" * 70_000]),
    st.integers(0, 2000).map(lambda n: f"para {n} " + "z" * n),
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["extend", "fork", "repeat", "new"]), st.lists(piece, max_size=8)
        ),
        max_size=12,
    )
)
def test_a_chunker_cuts_every_text_exactly_as_chunks_does(
    steps: list[tuple[str, list[str]]],
) -> None:
    chunker = _bodies.Chunker(budget=300_000)
    seen: list[str] = [""]
    for action, pieces in steps:
        base = {"extend": seen[-1], "fork": seen[len(seen) // 2], "repeat": seen[-1]}.get(
            action, ""
        )
        text = (
            base
            if action == "repeat"
            else "\n\n".join([base, *pieces])
            if base
            else "\n\n".join(pieces)
        )
        body = chunker.split(text)
        expected = _bodies.chunks(text)
        assert body.chunks == expected
        assert body.digests == [_bodies.digest(c) for c in expected]
        assert _bodies.join(body.chunks) == text
        seen.append(text)


def test_a_new_turn_hashes_only_what_follows_the_previous_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chunker = _bodies.Chunker()
    history = [f"tool {i}: " + "schema " * 200 for i in range(60)]
    first = chunker.split("\n\n".join(history))
    hashed = recorded(monkeypatch, _bodies, "digest")
    history.append("the next question " * 10)
    second = chunker.split("\n\n".join(history))
    assert second.digests[: len(first.digests) - 1] == first.digests[:-1]
    # Only the previous prompt's last chunk and what the turn added are cut again.
    assert sum(len(chunk) for (chunk,) in hashed) < len(first.chunks[-1]) + 200
    assert len(first.chunks) > 10


def test_a_new_turn_encodes_and_splits_only_what_it_adds(monkeypatch: pytest.MonkeyPatch) -> None:
    chunker = _bodies.Chunker()
    history = [f"message {i}: " + "word " * (50 + 37 * i % 300) for i in range(80)]
    chunker.split("\n\n".join(history))
    encoded = recorded(monkeypatch, _bodies, "_encode")
    for turn in range(5):
        added = [f"question {turn} " + "ask " * 40, f"answer {turn} " + "say " * 90]
        history += added
        text = "\n\n".join(history)
        assert chunker.split(text).chunks == _bodies.chunks(text)
        # The earlier prompt's open last chunk is carried over, not cut again.
        assert encoded.pop(0) == ("\n\n".join(added),)
        encoded.clear()  # what _bodies.chunks encoded for the comparison


def test_the_chunker_forgets_beyond_its_budget() -> None:
    chunker = _bodies.Chunker(budget=200_000)
    for n in range(50):
        chunker.split(
            "\n\n".join(f"conversation {n} paragraph {i} " + "w" * 900 for i in range(40))
        )
    assert chunker._held <= 200_000
    assert 0 < len(chunker._prefixes) < 50


def test_the_chunker_remembers_a_bounded_number_of_texts() -> None:
    chunker = _bodies.Chunker()
    for n in range(400):
        text = "\n\n".join(f"paragraph {i} " + "v" * 1100 + f" of {n}" for i in range(12))
        assert len(chunker.split(text).chunks) > 1
    assert len(chunker._prefixes) == chunker._MAX_PREFIXES
