"""Plans, weights and cool-downs of ai_gateway balance and fallbacks."""

from __future__ import annotations

import asyncio
import random
import socket
from collections import Counter
from pathlib import Path

from promptgate.bundle import Target
from promptgate.runtime.attempt_peers import Peers
from promptgate.runtime.attempts import (
    COOLDOWN_SECONDS,
    FAILURES_BEFORE_COOLDOWN,
    AttemptOutcome,
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
    plan = Plan("ab12", "c3d4e5f6-6a7b-4c8d-9e0f-1a2b3c4d5e6f", "smart alias", 2, (1, 0, 2), 3)
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
    chooser.observe(MAIN.key, 429, "20")
    assert all(chooser.order(TARGETS)[-1] == 0 for _ in range(50))
    clock.now += 21
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))


def test_a_429_without_retry_after_does_not_cool_down_alone() -> None:
    chooser = fallbacks()
    chooser.observe(MAIN.key, 429, None)
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))


def test_consecutive_failures_cool_a_target_and_a_success_resets_the_count() -> None:
    clock = Clock()
    chooser = fallbacks(clock)
    for _ in range(FAILURES_BEFORE_COOLDOWN - 1):
        chooser.observe(MAIN.key, 0, None)
    chooser.observe(MAIN.key, 200, None)
    chooser.observe(MAIN.key, 529, None)
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))
    for _ in range(FAILURES_BEFORE_COOLDOWN - 1):
        chooser.observe(MAIN.key, 503, None)
    assert all(chooser.order(TARGETS)[-1] == 0 for _ in range(50))
    clock.now += COOLDOWN_SECONDS + 1
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))


def test_client_errors_are_not_failures_of_the_target() -> None:
    chooser = fallbacks()
    for _ in range(10):
        chooser.observe(MAIN.key, 400, None)
    assert any(chooser.order(TARGETS)[0] == 0 for _ in range(50))


def test_an_attempt_of_this_process_plan_is_settled_here() -> None:
    chooser = fallbacks()
    plan = Plan("ab12", "p", "alias", 0, (0, 2))
    for attempt in range(1, FAILURES_BEFORE_COOLDOWN + 1):
        chooser.report(plan, attempt, AttemptOutcome(0, 529, 12.5), MAIN.key, None)
    assert chooser.outcomes("ab12")[2] == AttemptOutcome(0, 529, 12.5)
    assert all(chooser.order(TARGETS)[-1] == 0 for _ in range(50))


def settle_across(directory: Path, sends: list[bytes | tuple[int, AttemptOutcome]]) -> Fallbacks:
    """Process 1 reports outcomes of process 0's plan `ab12`; what process 0 then knows."""

    async def run() -> Fallbacks:
        owner = Fallbacks(clock=Clock(), rng=random.Random(7), peers=Peers(directory, 0))
        server = Fallbacks(peers=Peers(directory, 1))
        loop = asyncio.get_running_loop()
        assert owner.peers is not None and server.peers is not None
        owner.peers.listen(loop, owner.delivered)
        plan = Plan("ab12", "p", "alias", 0, (0, 2), owner=0)
        for sent in sends:
            if isinstance(sent, bytes):
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as raw:
                    raw.sendto(sent, str(owner.peers.path(0)))
            else:
                server.report(plan, sent[0], sent[1], MAIN.key, "40")
        for _ in range(20):
            await asyncio.sleep(0.01)
        owner.peers.close(loop)
        server.peers.close()
        return owner

    return asyncio.run(run())


def test_an_attempt_served_by_another_process_is_settled_in_the_plan_process(
    tmp_path: Path,
) -> None:
    owner = settle_across(tmp_path, [(1, AttemptOutcome(0, 429, 80.0))])
    assert owner.outcomes("ab12") == {1: AttemptOutcome(0, 429, 80.0)}
    # The plan's process cools the target down on what the other process saw.
    assert all(owner.order(TARGETS)[-1] == 0 for _ in range(50))


def test_a_datagram_that_is_no_outcome_is_dropped(tmp_path: Path) -> None:
    junk = [b"not json", b"[]", b'{"exchange": "ab12"}', b'{"key": 1}', b"\xff" * 5000]
    owner = settle_across(tmp_path, [*junk, (2, AttemptOutcome(2, 200, 30.0))])
    assert owner.outcomes("ab12") == {2: AttemptOutcome(2, 200, 30.0)}


def test_an_outcome_for_a_process_that_is_gone_is_dropped(tmp_path: Path) -> None:
    server = Fallbacks(peers=Peers(tmp_path, 1))
    plan = Plan("ab12", "p", "alias", 0, (0,), owner=0)
    server.report(plan, 1, AttemptOutcome(0, 200, 1.0), MAIN.key, None)
    assert server.outcomes("ab12") == {}
