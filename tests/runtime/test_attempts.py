"""Plans, weights and cool-downs of ai_gateway balance and fallbacks."""

from __future__ import annotations

import random
from collections import Counter

from promptgate.bundle import Target
from promptgate.runtime.attempts import (
    COOLDOWN_SECONDS,
    FAILURES_BEFORE_COOLDOWN,
    Fallbacks,
    Plan,
)

MAIN = Target("anthropic", "claude-haiku-4-5", "main", 3, 0)
SECOND = Target("anthropic", "claude-haiku-4-5", "second", 1, 0)
BACKUP = Target("openai", "gpt-4.1-mini", "openai-main", 1, 1)
TARGETS = [MAIN, SECOND, BACKUP]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fallbacks(clock: Clock | None = None) -> Fallbacks:
    return Fallbacks(clock=clock or Clock(), rng=random.Random(7))


def test_a_plan_survives_its_header() -> None:
    plan = Plan("ab12", "c3d4e5f6-6a7b-4c8d-9e0f-1a2b3c4d5e6f", "smart alias", 2, (1, 0, 2))
    assert Plan.parse(plan.header()) == plan


def test_level_zero_is_drawn_by_weight_and_fallbacks_come_after() -> None:
    chooser = fallbacks()
    firsts = Counter(chooser.order(TARGETS)[0] for _ in range(4000))
    assert set(firsts) == {0, 1}
    assert 0.70 < firsts[0] / 4000 < 0.80  # weight 3 of 4
    assert all(chooser.order(TARGETS)[2] == 2 for _ in range(50))


def test_a_429_with_retry_after_sends_the_target_last_until_it_ends() -> None:
    clock = Clock()
    chooser = fallbacks(clock)
    chooser.observe(MAIN, 429, "20")
    assert all(chooser.order(TARGETS)[-1] == 0 for _ in range(50))
    clock.now += 21
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))


def test_a_429_without_retry_after_does_not_cool_down_alone() -> None:
    chooser = fallbacks()
    chooser.observe(MAIN, 429, None)
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))


def test_consecutive_failures_cool_a_target_and_a_success_resets_the_count() -> None:
    clock = Clock()
    chooser = fallbacks(clock)
    for _ in range(FAILURES_BEFORE_COOLDOWN - 1):
        chooser.observe(MAIN, 0, None)
    chooser.observe(MAIN, 200, None)
    chooser.observe(MAIN, 529, None)
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))
    for _ in range(FAILURES_BEFORE_COOLDOWN - 1):
        chooser.observe(MAIN, 503, None)
    assert all(chooser.order(TARGETS)[-1] == 0 for _ in range(50))
    clock.now += COOLDOWN_SECONDS + 1
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))


def test_client_errors_are_not_failures_of_the_target() -> None:
    chooser = fallbacks()
    for _ in range(10):
        chooser.observe(MAIN, 400, None)
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))
