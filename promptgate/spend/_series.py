"""Per-project spend and request counts in one-minute and one-hour buckets.

The anomaly detector reads these; `InMemorySpendSeries` keeps them in the
process. A fleet would implement `SpendSeries` on a shared store (Redis
hashes per minute, say) so every replica's traffic lands in one series.
"""

from __future__ import annotations

import abc
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..webhooks import ProjectRef

MINUTE = 60
HOUR = 3600


def minute_of(moment: datetime) -> int:
    """Minutes since the epoch; bucket `m` covers [m*60, (m+1)*60) seconds."""
    return int(moment.timestamp() // MINUTE)


@dataclass
class Bucket:
    """What one project spent in one bucket, and on whose behalf."""

    spend: Decimal = field(default_factory=Decimal)
    requests: int = 0
    by_token: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    by_model: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


class SpendSeries(abc.ABC):
    """Bucketed spend per project; minutes are kept for hours, hours for a day or more."""

    @abc.abstractmethod
    def add(
        self, project: ProjectRef, moment: datetime, cost: Decimal, token_id: str, model: str
    ) -> None: ...

    @abc.abstractmethod
    def projects(self) -> list[tuple[ProjectRef, int]]:
        """Every project with kept buckets, and the minute it was first seen."""

    @abc.abstractmethod
    def minutes(self, project_id: str, start: int, end: int) -> dict[int, Bucket]:
        """Minute buckets in [start, end) that saw traffic."""

    @abc.abstractmethod
    def hours(self, project_id: str, start: int, end: int) -> dict[int, Bucket]:
        """Hour buckets (hours since the epoch) in [start, end) that saw traffic,
        without the per-token and per-model breakdown."""

    @abc.abstractmethod
    def prune(self, now: datetime) -> None:
        """Forget buckets older than the series keeps."""


class InMemorySpendSeries(SpendSeries):
    """The embedded default; call it from one thread (the event loop)."""

    def __init__(self, keep_minutes: int = 6 * 60, keep_hours: int = 26) -> None:
        self._keep_minutes = keep_minutes
        self._keep_hours = keep_hours
        self._refs: dict[str, ProjectRef] = {}
        self._first: dict[str, int] = {}
        self._minutes: dict[str, dict[int, Bucket]] = defaultdict(dict)
        self._hours: dict[str, dict[int, Bucket]] = defaultdict(dict)

    def add(
        self, project: ProjectRef, moment: datetime, cost: Decimal, token_id: str, model: str
    ) -> None:
        minute = minute_of(moment)
        self._refs[project.id] = project
        self._first[project.id] = min(self._first.get(project.id, minute), minute)
        bucket = self._minutes[project.id].setdefault(minute, Bucket())
        bucket.spend += cost
        bucket.requests += 1
        bucket.by_token[token_id or "-"] += cost
        bucket.by_model[model or "-"] += cost
        hour = self._hours[project.id].setdefault(minute * MINUTE // HOUR, Bucket())
        hour.spend += cost
        hour.requests += 1

    def projects(self) -> list[tuple[ProjectRef, int]]:
        return [(ref, self._first[pid]) for pid, ref in self._refs.items()]

    def minutes(self, project_id: str, start: int, end: int) -> dict[int, Bucket]:
        buckets = self._minutes.get(project_id, {})
        if end - start < len(buckets):
            return {m: buckets[m] for m in range(start, end) if m in buckets}
        return {m: b for m, b in buckets.items() if start <= m < end}

    def hours(self, project_id: str, start: int, end: int) -> dict[int, Bucket]:
        buckets = self._hours.get(project_id, {})
        return {h: b for h, b in buckets.items() if start <= h < end}

    def prune(self, now: datetime) -> None:
        oldest_minute = minute_of(now) - self._keep_minutes
        oldest_hour = minute_of(now) * MINUTE // HOUR - self._keep_hours
        for project_id in list(self._refs):
            minutes = self._minutes[project_id]
            for minute in [m for m in minutes if m < oldest_minute]:
                del minutes[minute]
            hours = self._hours[project_id]
            for hour in [h for h in hours if h < oldest_hour]:
                del hours[hour]
            if not minutes and not hours:
                del self._refs[project_id], self._first[project_id]
                del self._minutes[project_id], self._hours[project_id]
