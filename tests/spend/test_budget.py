"""Budgets per project and token, per UTC day and month: block, notify once, reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from promptgate.bundle import BudgetSpec, BundleError
from promptgate.spend import Budget, BudgetTracker, window
from promptgate.webhooks import ProjectRef

PROJECT = ProjectRef("0b6f3c1e-2d4a-4c8e-9f10-123456789abc", "engineering-egress")
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def budget(**entry: object) -> Budget:
    spec = BudgetSpec.from_json({"scope": "project", "token": None, **entry}, "budget")
    return Budget.from_spec(PROJECT, spec)


def test_a_spent_daily_project_budget_blocks_until_midnight_utc() -> None:
    tracker = BudgetTracker([budget(scope="project", period="day", limit_usd="10")])
    assert tracker.record(PROJECT.id, "alice", Decimal("6"), NOW) == []
    assert tracker.check(PROJECT.id, "bob", NOW) is None
    events = tracker.record(PROJECT.id, "bob", Decimal("4.5"), NOW)

    blocked = tracker.check(PROJECT.id, "alice", NOW + timedelta(minutes=1))
    assert blocked is not None
    assert (blocked.limit_usd, blocked.spent_usd) == (Decimal("10"), Decimal("10.5"))
    assert blocked.resets_at == datetime(2026, 11, 26, tzinfo=UTC)
    assert "daily budget of $10 for project 'engineering-egress'" in blocked.message
    assert "2026-11-26 00:00 UTC" in blocked.message
    assert [e.type for e in events] == ["budget.exceeded"]
    assert events[0].details["spent_usd"] == Decimal("10.5")
    assert tracker.check(PROJECT.id, "alice", datetime(2026, 11, 26, 0, 0, 1, tzinfo=UTC)) is None


def test_budget_exceeded_fires_once_per_window() -> None:
    tracker = BudgetTracker([budget(scope="project", period="day", limit_usd="1")])
    fired = []
    for hour in range(5):
        fired += tracker.record(PROJECT.id, "alice", Decimal("0.6"), NOW + timedelta(hours=hour))
    assert len(fired) == 1
    next_day = datetime(2026, 11, 26, 9, tzinfo=UTC)
    fired = tracker.record(PROJECT.id, "alice", Decimal("2"), next_day)
    assert len(fired) == 1


def test_a_token_budget_blocks_that_token_only() -> None:
    tracker = BudgetTracker([budget(scope="token", token="ci-runner", period="day", limit_usd="5")])
    tracker.record(PROJECT.id, "ci-runner", Decimal("5"), NOW)
    blocked = tracker.check(PROJECT.id, "ci-runner", NOW)
    assert blocked is not None and "token 'ci-runner'" in blocked.message
    assert tracker.check(PROJECT.id, "alice", NOW) is None


def test_a_budget_for_each_token_counts_them_apart() -> None:
    tracker = BudgetTracker([budget(scope="token", period="day", limit_usd="5")])
    assert tracker.record(PROJECT.id, "alice", Decimal("3"), NOW) == []
    assert tracker.record(PROJECT.id, "bob", Decimal("3"), NOW) == []
    assert tracker.check(PROJECT.id, "alice", NOW) is None
    assert len(tracker.record(PROJECT.id, "bob", Decimal("3"), NOW)) == 1
    assert tracker.check(PROJECT.id, "bob", NOW) is not None
    assert tracker.check(PROJECT.id, "alice", NOW) is None


def test_the_monthly_budget_wins_when_both_are_spent() -> None:
    tracker = BudgetTracker(
        [
            budget(scope="project", period="day", limit_usd="10"),
            budget(scope="project", period="month", limit_usd="10"),
        ]
    )
    assert len(tracker.record(PROJECT.id, "alice", Decimal("12"), NOW)) == 2
    blocked = tracker.check(PROJECT.id, "alice", NOW)
    assert blocked is not None and blocked.budget.period == "month"
    assert blocked.resets_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_raising_the_limit_on_reload_lifts_the_block_and_keeps_the_spend() -> None:
    tracker = BudgetTracker([budget(scope="project", period="day", limit_usd="10")])
    tracker.record(PROJECT.id, "alice", Decimal("11"), NOW)
    tracker.update_budgets([budget(scope="project", period="day", limit_usd="20")])
    assert tracker.check(PROJECT.id, "alice", NOW) is None
    events = tracker.record(PROJECT.id, "alice", Decimal("9"), NOW)
    assert [e.details["limit_usd"] for e in events] == [Decimal("20")]


def test_a_restart_seeded_from_the_log_keeps_the_block_without_a_second_event() -> None:
    class Logged:
        def __init__(self, token: str, cost: str, priced: bool = True) -> None:
            self.project_id, self.token_id, self.cost_usd, self.priced = (
                PROJECT.id,
                token,
                cost,
                priced,
            )

    log = {
        window("day", NOW)[0]: [
            Logged("alice", "7.5"),
            Logged("bob", "3"),
            Logged("bob", "", False),
        ],
        window("month", NOW)[0]: [Logged("alice", "40"), Logged("bob", "3")],
    }
    asked: list[datetime] = []

    def spend_since(since: datetime) -> dict[tuple[str, str], Decimal]:
        asked.append(since)
        totals: dict[tuple[str, str], Decimal] = {}
        for entry in log[since]:
            if entry.priced:
                key = (entry.project_id, entry.token_id)
                totals[key] = totals.get(key, Decimal(0)) + Decimal(entry.cost_usd)
        return totals

    tracker = BudgetTracker(
        [
            budget(scope="project", period="day", limit_usd="10"),
            budget(scope="project", period="month", limit_usd="100"),
        ]
    )
    tracker.seed(spend_since, NOW)
    assert asked == [datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)]
    blocked = tracker.check(PROJECT.id, "carol", NOW)
    assert blocked is not None and blocked.spent_usd == Decimal("10.5")
    assert tracker.record(PROJECT.id, "alice", Decimal("1"), NOW) == []


def test_december_rolls_over_to_january() -> None:
    start, end = window("month", datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"scope": "team", "period": "day", "limit_usd": "1"}, "budget.scope: .* got 'team'"),
        ({"period": "week", "limit_usd": "1"}, "budget.period: .* got 'week'"),
        ({"period": "day", "limit_usd": "0"}, "budget.limit_usd: 0 is not above zero"),
        ({"period": "day", "limit_usd": 1}, "budget.limit_usd: expected a decimal string"),
        ({"period": "day", "limit_usd": "1", "token": "x"}, "budget.token"),
    ],
)
def test_bad_budgets_name_the_key(entry: dict[str, object], message: str) -> None:
    with pytest.raises(BundleError, match=message):
        budget(**entry)


def test_the_budget_sample_matches_a_real_event() -> None:
    from promptgate.webhooks import sample_event

    tracker = BudgetTracker([budget(scope="project", period="day", limit_usd="1")])
    [real] = tracker.record(PROJECT.id, "alice", Decimal("2"), NOW)
    sample = sample_event("budget.exceeded", PROJECT, NOW)
    assert set(sample.details) - {"test"} == set(real.details)
    assert set(sample.details["budget"]) == set(real.details["budget"])
