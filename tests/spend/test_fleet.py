"""The fleet's anomaly series: filled from the shared store only, and its events tell the spend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from promptgate.spend import AnomalyDetector
from promptgate.spend._fleet import FleetSpendSeries
from tests.spend.test_seed import NOW, PROJECT, LoggedHistory, settings, steady_day


def test_a_spike_other_instances_logged_pages_with_its_spend() -> None:
    history = LoggedHistory(steady_day())
    detector = AnomalyDetector(settings())
    detector.series = FleetSpendSeries()
    refs = {PROJECT.id: PROJECT}
    detector.seed(history, refs, NOW)
    # Requests this instance served are not counted here: the store holds them.
    detector.observe(PROJECT, NOW + timedelta(seconds=5), Decimal("5"), "t", "m")
    history.requests += [
        (NOW + timedelta(seconds=second), PROJECT.id, Decimal("0.5")) for second in range(1, 29)
    ]
    later = NOW + timedelta(seconds=31)
    detector.series.refresh(history, refs, later)
    events = detector.evaluate(later)
    assert [event.type for event in events] == ["endpoint.anomaly"]
    details = events[0].details
    assert details["observed"]["spend_usd"] == Decimal("14.0000")
    assert details["top_tokens"] == []  # the store's series is per project
