"""The anomaly series of a fleet: read from the shared store, not counted in the process.

Every instance logs to one PostgreSQL store, and one instance at a time
(the holder of an advisory lock) evaluates anomalies. Its series is the
store's: seeded at start like any other, then refreshed from the store's
recent minute and hour buckets before each evaluation. Requests this
process sees are not added (the store already counts them), so nothing is
counted twice. The store's buckets carry no per-token or per-model
breakdown: fleet anomaly events list no top tokens or models.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from ..webhooks import ProjectRef
from ._series import HOUR, MINUTE, Bucket, InMemorySpendSeries, SpendHistory, minute_of

# Records reach the store within about a second; minutes this recent may still grow.
REFRESH_MINUTES = 15


class FleetSpendSeries(InMemorySpendSeries):
    """An `InMemorySpendSeries` that only the store fills."""

    def add(
        self, project: ProjectRef, moment: datetime, cost: Decimal, token_id: str, model: str
    ) -> None:
        """Ignored: this request reaches the series through the store."""

    def refresh(
        self, history: SpendHistory, projects: Mapping[str, ProjectRef], now: datetime
    ) -> None:
        """Replace the recent minute buckets and the trailing day's hours with the store's."""
        since = now - timedelta(seconds=REFRESH_MINUTES * MINUTE)
        first_minute = minute_of(since)
        minutes: dict[str, dict[int, Bucket]] = {}
        for start, project_id, cost, requests in history.spend_series(since, MINUTE):
            minute = int(start.timestamp()) // MINUTE
            minutes.setdefault(project_id, {})[minute] = Bucket(cost, requests)
        hours: dict[str, dict[int, Bucket]] = {}
        for start, project_id, cost, requests in history.spend_series(
            now - timedelta(hours=26), HOUR
        ):
            hours.setdefault(project_id, {})[int(start.timestamp()) // HOUR] = Bucket(
                cost, requests
            )
        for project_id in minutes.keys() | hours.keys():
            ref = projects.get(project_id)
            if ref is None:
                continue
            self._refs[project_id] = ref
            kept = self._minutes[project_id]
            for minute in [m for m in kept if m >= first_minute]:
                del kept[minute]
            kept.update(minutes.get(project_id, {}))
            self._hours[project_id] = dict(hours.get(project_id, {}))
            seen = [*kept, *(h * HOUR // MINUTE for h in self._hours[project_id])]
            if seen:
                self._first[project_id] = min(self._first.get(project_id, min(seen)), min(seen))
