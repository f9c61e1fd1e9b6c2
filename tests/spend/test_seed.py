"""A restarted detector takes its baseline from the logged history and pages at once."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from promptgate.spend import AnomalyDetector, AnomalySettings, SpendRow
from promptgate.webhooks import ProjectRef

NOW = datetime(2026, 11, 23, 15, 0, 30, tzinfo=UTC)
PROJECT = ProjectRef("0b6f3c1e-2d4a-4c8e-9f10-123456789abc", "engineering-egress")
GONE = "5a0d2c1b-0000-4000-8000-000000000000"
PAGER = "https://hooks.example.com/pager"


class LoggedHistory:
    """Aggregates over a list of (time, project id, cost), as a store's query would."""

    def __init__(self, requests: list[tuple[datetime, str, Decimal]]) -> None:
        self.requests = requests
        self.queries: list[tuple[datetime, int]] = []

    def spend_series(self, since: datetime, bucket_seconds: int) -> list[SpendRow]:
        self.queries.append((since, bucket_seconds))
        sums: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
        for at, project_id, cost in self.requests:
            if at >= since:
                start = int(at.timestamp()) // bucket_seconds * bucket_seconds
                sums[(start, project_id)].append(cost)
        return [
            (datetime.fromtimestamp(start, UTC), project_id, sum(costs, Decimal()), len(costs))
            for (start, project_id), costs in sorted(sums.items())
        ]


def steady_day(project_id: str = PROJECT.id) -> list[tuple[datetime, str, Decimal]]:
    """Two requests a minute at $0.02 each, for the day before NOW."""
    start = NOW - timedelta(days=1)
    return [
        (start + timedelta(seconds=30 * i), project_id, Decimal("0.02"))
        for i in range(2 * 24 * 60)
        if start + timedelta(seconds=30 * i) < NOW - timedelta(seconds=30)
    ]


def spike(detector: AnomalyDetector) -> list[str]:
    for second in range(40):
        detector.observe(PROJECT, NOW + timedelta(seconds=second % 29), Decimal("0.5"), "t", "m")
    events = detector.evaluate(NOW + timedelta(seconds=31))
    return [event.type for event in events]


def settings() -> dict[str, AnomalySettings]:
    return {PAGER: AnomalySettings(window_minutes=1, min_spend_usd=Decimal("1"))}


def test_a_seeded_detector_pages_on_a_spike_in_its_first_minute() -> None:
    detector = AnomalyDetector(settings())
    history = LoggedHistory(steady_day())
    detector.seed(history, {PROJECT.id: PROJECT}, NOW)
    assert spike(detector) == ["endpoint.anomaly"]
    # Two aggregate queries: minute buckets for the baseline, hours for the day.
    assert [width for _, width in history.queries] == [60, 3600]


def test_without_history_the_same_spike_is_not_paged() -> None:
    detector = AnomalyDetector(settings())
    assert spike(detector) == []


def test_a_steady_seeded_baseline_does_not_page_on_steady_traffic() -> None:
    detector = AnomalyDetector(settings())
    detector.seed(LoggedHistory(steady_day()), {PROJECT.id: PROJECT}, NOW)
    detector.observe(PROJECT, NOW + timedelta(seconds=10), Decimal("0.02"), "t", "m")
    assert detector.evaluate(NOW + timedelta(seconds=31)) == []


def test_projects_no_longer_in_the_policy_are_not_seeded() -> None:
    detector = AnomalyDetector(settings())
    detector.seed(LoggedHistory(steady_day(GONE)), {PROJECT.id: PROJECT}, NOW)
    assert detector.series.projects() == []
