"""Patterns read among joined strings: which anchors may differ there."""

from __future__ import annotations

import pytest

from promptgate.guardrails._patternset import _anchored


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
