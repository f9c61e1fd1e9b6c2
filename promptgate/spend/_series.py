"""Per-project spend and request counts in one-minute and one-hour buckets.

The anomaly detector reads these; `InMemorySpendSeries` keeps them in the
process. A fleet would implement `SpendSeries` on a shared store (Redis
hashes per minute, say) so every replica's traffic lands in one series.

On start the series is seeded from a `SpendHistory` (the access-log
store's per-bucket aggregates), so a restarted gateway has a baseline at
once instead of after half an hour.

`PROMPTGATE_TEST_ANOMALY_MINUTE_SECONDS` shortens the "minute" bucket (1-60
seconds) for end-to-end tests that cannot wait for real minutes; it is an
environment knob of the processor only, never read from policy.
"""

from __future__ import annotations

import abc
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from ..webhooks import ProjectRef

MINUTE_ENV = "PROMPTGATE_TEST_ANOMALY_MINUTE_SECONDS"


def _minute_seconds() -> int:
    raw = os.environ.get(MINUTE_ENV, "")
    return min(max(int(raw), 1), 60) if raw.isdigit() else 60


MINUTE = _minute_seconds()
HOUR = 3600
MINUTES_PER_HOUR = HOUR // MINUTE

# (bucket start, project id, cost in USD, requests) for one bucket of one project.
SpendRow = tuple[datetime, str, Decimal, int]


@runtime_checkable
class SpendHistory(Protocol):
    """Spend already logged, summed per project and time bucket (never whole records)."""

    def spend_series(self, since: datetime, bucket_seconds: int) -> list[SpendRow]:
        """Buckets that start at or after `since`; a bucket starts at a multiple of
        `bucket_seconds` since the epoch."""
        ...


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

    @abc.abstractmethod
    def seed(
        self, project: ProjectRef, minutes: Mapping[int, Bucket], hours: Mapping[int, Bucket]
    ) -> None:
        """Add history from before this process started (spend and requests only)."""


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

    def seed(
        self, project: ProjectRef, minutes: Mapping[int, Bucket], hours: Mapping[int, Bucket]
    ) -> None:
        if not minutes and not hours:
            return
        self._refs[project.id] = project
        first = min([*minutes, *(h * MINUTES_PER_HOUR for h in hours)])
        self._first[project.id] = min(self._first.get(project.id, first), first)
        for kept, seeded in ((self._minutes, minutes), (self._hours, hours)):
            buckets = kept[project.id]
            for index, past in seeded.items():
                bucket = buckets.setdefault(index, Bucket())
                bucket.spend += past.spend
                bucket.requests += past.requests

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
