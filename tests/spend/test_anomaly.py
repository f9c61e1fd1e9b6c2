"""Spend anomalies on a simulated clock: spikes page once, normal life never does."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from promptgate.bundle import AnomalySpec, Webhook
from promptgate.spend import AnomalyDetector, AnomalySettings, rules_from_subscriptions
from promptgate.webhooks import Event, ProjectRef, sample_event

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
PROJECT = ProjectRef("0b6f3c1e-2d4a-4c8e-9f10-123456789abc", "engineering-egress")
PAGER = "https://hooks.example.com/pager"


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Traffic:
    """Requests per minute from a rate function, evaluated at every minute's end."""

    def __init__(self, detector: AnomalyDetector, seed: int = 7) -> None:
        self.detector = detector
        self.rng = random.Random(seed)
        self.minute = 0
        self.events: list[Event] = []

    def run(
        self,
        minutes: int,
        rate: Callable[[int], float],
        *,
        token: str = "alice-laptop",
        model: str = "claude-sonnet-4-5",
        cost: tuple[float, float] = (0.01, 0.05),
    ) -> list[Event]:
        fired: list[Event] = []
        for _ in range(minutes):
            begin = START + timedelta(minutes=self.minute)
            for _ in range(poisson(self.rng, rate(self.minute))):
                at = begin + timedelta(seconds=self.rng.uniform(0, 59.9))
                price = Decimal(f"{self.rng.uniform(*cost):.6f}")
                self.detector.observe(PROJECT, at, price, token, model)
            self.minute += 1
            fired += self.detector.evaluate(begin + timedelta(minutes=1, seconds=1))
        self.events += fired
        return fired


def steady(_: int) -> float:
    return 10.0


def detector(**settings: Any) -> AnomalyDetector:
    return AnomalyDetector({PAGER: AnomalySettings(**settings)})


def test_steady_traffic_fires_nothing_for_a_day() -> None:
    traffic = Traffic(detector())
    assert traffic.run(24 * 60, steady) == []


def test_a_spike_fires_one_anomaly_then_one_recovery() -> None:
    traffic = Traffic(detector())
    traffic.run(3 * 60, steady)
    spike = traffic.run(10, lambda _: 100.0, token="ci-runner", model="claude-opus-4-1")
    after = traffic.run(2 * 60, steady)

    assert [e.type for e in spike] == ["endpoint.anomaly"]
    assert [e.type for e in after] == ["endpoint.recovered"]
    anomaly, recovered = spike[0], after[0]
    details = anomaly.details
    assert anomaly.project == PROJECT and anomaly.audience == frozenset({PAGER})
    assert "spend" in details["reasons"]
    assert details["observed"]["spend_usd"] > 2 * details["expected"]["spend_usd"]
    assert details["top_tokens"][0]["token"] == "ci-runner"
    assert details["top_models"][0]["model"] == "claude-opus-4-1"
    assert details["window_minutes"] == 5
    assert recovered.details["anomaly_id"] == anomaly.id
    assert recovered.time - anomaly.time < timedelta(minutes=20)
    # `promptgate webhooks test` sends samples of exactly this shape.
    for real in (anomaly, recovered):
        sample = sample_event(real.type, PROJECT, real.time)
        assert set(sample.details) - {"test"} == set(real.details)


def test_a_slowly_growing_workload_does_not_page() -> None:
    traffic = Traffic(detector())
    traffic.run(60, steady)
    assert traffic.run(24 * 60, lambda m: 10.0 * 1.02 ** (m / 60)) == []


def test_an_idle_project_below_the_minimum_never_pages() -> None:
    traffic = Traffic(detector())
    traffic.run(3 * 60, lambda _: 0.05, cost=(0.001, 0.01))
    # Fifty times the usual rate, but under $1 in any five minutes.
    assert traffic.run(30, lambda _: 2.5, cost=(0.001, 0.01)) == []


def test_cooldown_holds_back_a_second_spike_but_not_a_later_one() -> None:
    traffic = Traffic(detector(cooldown_minutes=30))
    traffic.run(3 * 60, steady)
    traffic.run(6, lambda _: 100.0)
    traffic.run(14, steady)
    traffic.run(6, lambda _: 100.0)  # 20 minutes after the first: held back
    traffic.run(34, steady)
    traffic.run(6, lambda _: 100.0)  # 60 minutes after the first: pages again
    traffic.run(60, steady)

    assert [e.type for e in traffic.events] == [
        "endpoint.anomaly",
        "endpoint.recovered",
        "endpoint.anomaly",
        "endpoint.recovered",
    ]
    first, second = traffic.events[0], traffic.events[2]
    assert second.time - first.time >= timedelta(minutes=55)


def test_a_team_starting_work_after_a_quiet_night_does_not_page() -> None:
    traffic = Traffic(detector())

    def office_hours(minute: int) -> float:
        return 10.0 if 9 * 60 <= minute % (24 * 60) < 17 * 60 else 0.0

    assert traffic.run(3 * 24 * 60, office_hours) == []


def test_a_request_storm_of_cheap_calls_pages() -> None:
    traffic = Traffic(detector())
    traffic.run(3 * 60, steady)
    storm = traffic.run(10, lambda _: 60.0, cost=(0.004, 0.008))
    assert [e.type for e in storm] == ["endpoint.anomaly"]
    assert storm[0].details["reasons"] == ["requests"]


def test_each_subscription_is_paged_by_its_own_settings() -> None:
    quiet, eager = "https://hooks.example.com/quiet", "https://hooks.example.com/eager"
    defaults = AnomalySettings()
    quiet_settings = AnomalySpec(
        defaults.sensitivity,
        defaults.window_minutes,
        Decimal("20"),
        defaults.min_requests,
        defaults.cooldown_minutes,
        defaults.baseline_minutes,
    )
    rules = rules_from_subscriptions(
        [
            Webhook(quiet, ("endpoint.anomaly",), anomaly=quiet_settings),
            Webhook(eager, ("endpoint.anomaly",)),
            Webhook("https://hooks.example.com/other", ("budget.exceeded",)),
        ]
    )
    assert set(rules) == {quiet, eager}
    traffic = Traffic(AnomalyDetector(rules))
    traffic.run(3 * 60, steady)
    fired = traffic.run(10, lambda _: 40.0)
    assert [(e.type, e.audience) for e in fired] == [("endpoint.anomaly", frozenset({eager}))]


def test_history_replayed_at_startup_arms_the_detector_at_once() -> None:
    history = Traffic(AnomalyDetector({}))
    history.run(2 * 60, steady)
    restarted = AnomalyDetector({PAGER: AnomalySettings()}, series=history.detector.series)
    traffic = Traffic(restarted)
    traffic.minute = history.minute
    fired = traffic.run(5, lambda _: 100.0)
    assert [e.type for e in fired] == ["endpoint.anomaly"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"sensitivity": 0}, "anomaly.sensitivity: 0"),
        ({"window_minutes": 600}, "anomaly.window_minutes: 600"),
    ],
)
def test_bad_settings_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AnomalySettings(**settings)
