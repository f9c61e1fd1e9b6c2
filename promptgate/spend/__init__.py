"""Spend watching: rate anomalies against a baseline, and budgets that stop the bleeding.

    detector.observe(project, time, cost, token_id, model)   # every finished request
    detector.evaluate(now) -> [endpoint.anomaly | endpoint.recovered events]
    detector.seed(history, projects, now)   # on start: baseline from the access log
    tracker.check(project_id, token_id, now) -> Exceeded | None   # before forwarding
    tracker.record(project_id, token_id, cost, now) -> [budget.exceeded events]

State is in-process (`InMemorySpendSeries`, `InMemoryBudgetCounters`)
behind small base classes a shared backend can implement.
"""

from ._series import Bucket, InMemorySpendSeries, SpendHistory, SpendRow, SpendSeries, minute_of
from .anomaly import AnomalyDetector, AnomalySettings, rules_from_subscriptions
from .budget import (
    Budget,
    BudgetCounters,
    BudgetTracker,
    Exceeded,
    InMemoryBudgetCounters,
    SpendSince,
    window,
)

__all__ = [
    "AnomalyDetector",
    "AnomalySettings",
    "Bucket",
    "Budget",
    "BudgetCounters",
    "BudgetTracker",
    "Exceeded",
    "InMemoryBudgetCounters",
    "InMemorySpendSeries",
    "SpendHistory",
    "SpendRow",
    "SpendSeries",
    "SpendSince",
    "minute_of",
    "rules_from_subscriptions",
    "window",
]
