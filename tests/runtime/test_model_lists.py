"""Model allow/deny lists match what the provider would serve under a listed name."""

from __future__ import annotations

import time

import pytest

from promptgate.runtime.model_lists import ModelList

DENY = ModelList.of(
    ["claude-opus-4-1", "gpt-4o", "claude-3-opus-*", "o?-pro", "claude-haiku-4-5-20251001"]
)


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-1",
        "claude-opus-4-1-20250805",
        "Claude-Opus-4-1",
        "CLAUDE-OPUS-4-1-20250805",
        "claude-opus-4-1 ",
        "\tclaude-opus-4-1\n",
        "claude-opus-4-1-latest",
        "gpt-4o-2024-08-06",
        "claude-3-opus-20240229",
        "claude-3-opus-latest",
        "o3-pro",
        "claude-haiku-4-5-20251001",
    ],
)
def test_listed_models_their_snapshots_case_and_space_variants_match(model: str) -> None:
    assert DENY.matches(model)


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-1x",
        "claude-opus-4-10",
        "claude-opus-4",
        "claude-opus-4-1-2025",
        "claude-opus-4-1-20250805-extra",
        "gpt-4o-mini",
        "claude-haiku-4-5",
        "claude-haiku-4-5-20250101",
        "o3-pro-max",
        "xclaude-opus-4-1",
    ],
)
def test_other_models_do_not_match(model: str) -> None:
    assert not DENY.matches(model)


def test_an_empty_list_matches_nothing_and_names_lists_only_plain_entries() -> None:
    assert not ModelList.of([]).matches("anything")
    assert ModelList.of([" gpt-4.1 ", "claude-*", ""]).names == ["gpt-4.1"]


def test_regex_characters_in_entries_are_literal() -> None:
    listed = ModelList.of(["gpt-4.1"])
    assert listed.matches("gpt-4.1")
    assert not listed.matches("gpt-431")


def test_matching_a_huge_hostile_name_stays_linear() -> None:
    listed = ModelList.of(["*a*a*a*a*a*b", "claude-*-opus"])
    started = time.perf_counter()
    assert not listed.matches("a" * 100_000)
    assert time.perf_counter() - started < 0.5
