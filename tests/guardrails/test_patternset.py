"""Patterns read among joined strings: which anchors may differ there."""

from __future__ import annotations

import itertools
from bisect import bisect_right

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptgate.guardrails._patternset import JOIN, PatternSet, _anchored, _line_form


@pytest.mark.parametrize(
    ("regex", "anchored"),
    [
        ("x^", True),
        ("(?:^|[^a])x", True),
        ("x(?:y|$)", True),
        ("(?i)^x", True),
        (r"x\\$", True),
        ("(?:(?m:^)|[^a])x(?:[^a]|(?m:$))", False),
        ("(?m)^x$", False),
        ("(?im)^x$", False),
        ("[^a]b", False),
        (r"\^x\$", False),
        ("[$^]x", False),
        ("[]^]x", False),
        ("[^]$]x", False),
        ("[[:^alpha:]]x", False),
    ],
)
def test_anchors_outside_classes_and_line_anchors_are_told_apart(
    regex: str, anchored: bool
) -> None:
    assert _anchored(regex) is anchored


@pytest.mark.parametrize(
    ("regex", "line"),
    [
        (r"\Ax\z", r"(?:\A|\x00\n)x(?:\z|\n\x00)"),
        (r"^x$", r"(?:\A|\x00\n)x(?:\z|\n\x00)"),
        (r"(?m)^x$", r"(?m)^x$"),
        (r"(?i-m:^x)^y", r"(?i-m:(?:\A|\x00\n)x)(?:\A|\x00\n)y"),
        (r"(a(?m)^b)^c", r"(a(?m)^b)(?:\A|\x00\n)c"),
        (r"[$^]x[[:^alpha:]^]", r"[$^]x[[:^alpha:]^]"),
        (r"\Q^$\E$", r"\Q^$\E(?:\z|\n\x00)"),
        (r"(?:(?m:^)|[^a])x", r"(?:(?m:^)|[^a])x"),
    ],
)
def test_anchors_to_the_whole_text_hold_at_each_joined_string(regex: str, line: str) -> None:
    assert _line_form(regex) == line


PATTERNS = [r"^a", r"a$", r"\Aa+\z", r"(?m)^b", r"(?-m:^a)b", r"\Qa\E$", r"^(?m)b$", r"b\b"]


@settings(max_examples=300, deadline=None)
@given(
    strings=st.lists(st.text(alphabet="ab \n", max_size=8), min_size=1, max_size=12),
    regex=st.sampled_from(PATTERNS),
)
def test_joined_matches_touch_every_string_that_matches_alone(
    strings: list[str], regex: str
) -> None:
    patterns = PatternSet([regex], ["t"])
    data = JOIN.join(strings).encode()
    spans = patterns.joined_spans(data, 1 << 20)
    assert spans is not None
    starts = list(itertools.accumulate((len(s) + len(JOIN) for s in strings), initial=0))
    touched = {
        index
        for _, found in spans
        for start, end in found
        for index in range(bisect_right(starts, start) - 1, bisect_right(starts, end - 1))
    }
    alone = {i for i, s in enumerate(strings) if patterns.matches(0, s.encode(), 10)}
    assert alone <= touched
    if regex.startswith((r"^a", r"\A")):
        # Anchored to a string's start alone, at most one match a string joined.
        assert sum(len(found) for _, found in spans) <= len(strings)
    for _, found in spans:
        for start, end in found:
            # Spans lie in one string: the join's bytes an anchor took are left out.
            first = bisect_right(starts, start) - 1
            assert end <= starts[first + 1] - len(JOIN)
