"""Spend-rate and request-rate anomalies per project: `endpoint.anomaly`, `endpoint.recovered`.

How it decides, per project and per distinct subscription settings:

- The baseline is an EWMA of the per-minute spend (and request count),
  with time constant `baseline_minutes`, and an EWMA of the absolute
  deviation from it. Minutes still inside the window are not folded in,
  and a minute far above the threshold is clipped before it is, so a spike
  does not teach the baseline to expect spikes; a lasting new level is
  absorbed over a few hours.
- The expected rate is the larger of that baseline and the median of the
  trailing day's active hours, so a team starting work after a quiet night
  is not a spike.
- The last `window_minutes` are anomalous when they exceed expected +
  sensitivity x spread (the spread is never under a quarter of expected,
  so at the default sensitivity of 4 the rate must at least double), in
  spend or in requests, and the window spent at least `min_spend_usd`
  (the request rate also needs `min_requests` in the window). A project
  spending less than the minimum never pages.
- An anomaly stays open until the window is back under expected +
  sensitivity/2 x spread; then one `endpoint.recovered` closes it. No new
  anomaly fires within `cooldown_minutes` of the previous one.

Nothing fires for the first 30 minutes of a project's baseline; `seed`
fills that baseline from the access log's history when the process starts,
so a restarted gateway pages on a spike at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..bundle import AnomalySpec, Webhook
from ..webhooks import Event, ProjectRef, utc_now
from ._series import (
    HOUR,
    MINUTE,
    MINUTES_PER_HOUR,
    Bucket,
    InMemorySpendSeries,
    SpendHistory,
    SpendSeries,
    minute_of,
)

WARMUP_MINUTES = 30
SPREAD_FLOOR = 0.25
DAY_MIN_ACTIVE_HOURS = 3
TOP = 3
ANOMALY_EVENTS = frozenset({"endpoint.anomaly", "endpoint.recovered"})
_CENTS = Decimal("0.0001")
log = logging.getLogger("promptgate.spend")


@dataclass(frozen=True)
class AnomalySettings:
    """A subscription's `anomaly:` block; every key is optional."""

    sensitivity: float = 4.0
    window_minutes: int = 5
    min_spend_usd: Decimal = Decimal("1")
    min_requests: int = 20
    cooldown_minutes: int = 30
    baseline_minutes: int = 60

    def __post_init__(self) -> None:
        limits: dict[str, tuple[float, float]] = {
            "sensitivity": (0.5, 20),
            "window_minutes": (1, 60),
            "min_spend_usd": (0, 1e9),
            "min_requests": (0, 1e9),
            "cooldown_minutes": (0, 7 * 24 * 60),
            "baseline_minutes": (10, 7 * 24 * 60),
        }
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not low <= float(value) <= high:
                raise ValueError(f"anomaly.{name}: {value} is outside [{low:g}, {high:g}]")

    @classmethod
    def from_spec(cls, spec: AnomalySpec | None) -> AnomalySettings:
        """A webhook's settings as the bundle states them; no block takes the defaults."""
        if spec is None:
            return cls()
        return cls(
            sensitivity=spec.sensitivity,
            window_minutes=spec.window_minutes,
            min_spend_usd=spec.min_spend_usd,
            min_requests=spec.min_requests,
            cooldown_minutes=spec.cooldown_minutes,
            baseline_minutes=spec.baseline_minutes,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rules_from_subscriptions(webhooks: Iterable[Webhook]) -> dict[str, AnomalySettings]:
    """`{url: settings}` for the bundle's webhooks that take anomaly events."""
    return {
        hook.url: AnomalySettings.from_spec(hook.anomaly)
        for hook in webhooks
        if ANOMALY_EVENTS & set(hook.events)
    }


@dataclass
class _Ewma:
    """Mean and mean absolute deviation; a plain average until `n` reaches the time constant."""

    mean: float = 0.0
    dev: float = 0.0
    n: int = 0

    def fold(self, value: float, alpha: float) -> None:
        if self.n:
            self.dev += max(alpha, 1 / self.n) * (abs(value - self.mean) - self.dev)
        self.mean += max(alpha, 1 / (self.n + 1)) * (value - self.mean)
        self.n += 1

    def ceiling(self, sensitivity: float, floor: float) -> float | None:
        """What a minute may add once warm: the threshold rate, or `floor` if higher."""
        if self.n < WARMUP_MINUTES:
            return None
        return max(self.mean + sensitivity * max(self.dev, SPREAD_FLOOR * self.mean), floor)


@dataclass(frozen=True)
class _Open:
    event_id: str
    started: datetime


@dataclass
class _Watch:
    """One project seen through one subscription's settings."""

    settings: AnomalySettings
    folded_until: int
    spend: _Ewma = field(default_factory=_Ewma)
    requests: _Ewma = field(default_factory=_Ewma)
    open: _Open | None = None
    last_fired: datetime | None = None


@dataclass(frozen=True)
class _Reading:
    observed: float
    expected: float
    threshold: float
    calm: float

    @classmethod
    def of(cls, observed: float, rate: float, dev: float, s: AnomalySettings) -> _Reading:
        spread = max(dev, SPREAD_FLOOR * rate)
        w = s.window_minutes
        return cls(
            observed,
            w * rate,
            w * (rate + s.sensitivity * spread),
            w * (rate + s.sensitivity / 2 * spread),
        )


class AnomalyDetector:
    """Feed it every finished request with `observe`; call `evaluate` every ~20 seconds.

    `rules` maps subscription URLs to their settings; events found with one
    set of settings go only to the subscriptions that share it. Not thread
    safe: use it from the event loop.
    """

    def __init__(
        self, rules: Mapping[str, AnomalySettings], *, series: SpendSeries | None = None
    ) -> None:
        self.series = series or InMemorySpendSeries()
        self._groups: dict[AnomalySettings, frozenset[str]] = {}
        self._watches: dict[tuple[str, AnomalySettings], _Watch] = {}
        self._pruned_minute: int | None = None
        self.update_rules(rules)

    @property
    def watching(self) -> bool:
        """Whether any subscription asks for anomaly events (else nothing needs seeding)."""
        return bool(self._groups)

    def update_rules(self, rules: Mapping[str, AnomalySettings]) -> None:
        """Take a reloaded policy's rules; baselines of unchanged settings are kept."""
        groups: dict[AnomalySettings, set[str]] = defaultdict(set)
        for url, settings in rules.items():
            groups[settings].add(url)
        self._groups = {settings: frozenset(urls) for settings, urls in groups.items()}
        self._watches = {k: w for k, w in self._watches.items() if k[1] in self._groups}

    def observe(
        self, project: ProjectRef, moment: datetime, cost_usd: Decimal, token_id: str, model: str
    ) -> None:
        """Count one finished request (cost 0 when unpriced); older records seed the baseline."""
        self.series.add(project, moment, cost_usd, token_id, model)

    def seed(
        self,
        history: SpendHistory,
        projects: Mapping[str, ProjectRef],
        now: datetime,
        *,
        keep_minutes: int = 6 * 60,
        keep_hours: int = 26,
    ) -> int:
        """Fill the series with what `history` logged before `now`; returns buckets read.

        Two aggregate queries (minute buckets for the baseline, hour buckets
        for the trailing day); projects not in `projects` are skipped.
        """
        since_minutes = datetime.fromtimestamp((minute_of(now) - keep_minutes) * MINUTE, UTC)
        since_hours = datetime.fromtimestamp(
            (minute_of(now) // MINUTES_PER_HOUR - keep_hours) * HOUR, UTC
        )
        minutes: dict[str, dict[int, Bucket]] = defaultdict(dict)
        hours: dict[str, dict[int, Bucket]] = defaultdict(dict)
        read = 0
        for target, since, width in ((minutes, since_minutes, MINUTE), (hours, since_hours, HOUR)):
            for start, project_id, cost, requests in history.spend_series(since, width):
                read += 1
                if project_id in projects and start < now:
                    index = int(start.timestamp()) // width
                    bucket = target[project_id].setdefault(index, Bucket())
                    bucket.spend += cost
                    bucket.requests += requests
        for project_id in minutes.keys() | hours.keys():
            self.series.seed(projects[project_id], minutes[project_id], hours[project_id])
        return read

    def evaluate(self, now: datetime) -> list[Event]:
        minute = minute_of(now)
        if self._pruned_minute != minute:
            self.series.prune(now)
            self._pruned_minute = minute
        events: list[Event] = []
        projects = self.series.projects()
        for project, first_minute in projects:
            for settings, audience in self._groups.items():
                watch = self._watches.get((project.id, settings))
                if watch is None:
                    watch = _Watch(
                        settings, folded_until=max(first_minute, minute - 24 * MINUTES_PER_HOUR)
                    )
                    self._watches[(project.id, settings)] = watch
                event = self._step(watch, project, minute, now, audience)
                if event is not None:
                    events.append(event)
        seen = {project.id for project, _ in projects}
        self._watches = {k: w for k, w in self._watches.items() if k[0] in seen}
        return events

    async def run(
        self,
        emit: Callable[[Event], object],
        *,
        clock: Callable[[], datetime] = utc_now,
        interval: float = MINUTE / 3,
    ) -> None:
        """Evaluate forever, handing each event to `emit`; cancel the task to stop."""
        while True:
            try:
                for event in self.evaluate(clock()):
                    emit(event)
            except Exception:
                log.exception("anomaly evaluation failed")
            await asyncio.sleep(interval)

    def _step(
        self,
        watch: _Watch,
        project: ProjectRef,
        minute: int,
        now: datetime,
        audience: frozenset[str],
    ) -> Event | None:
        s = watch.settings
        start = minute - s.window_minutes
        self._fold(watch, project.id, start)
        if watch.spend.n < WARMUP_MINUTES:
            return None
        window = self.series.minutes(project.id, start, minute)
        spend = sum((b.spend for b in window.values()), Decimal())
        count = sum(b.requests for b in window.values())
        day_spend, day_requests = self._day_rates(project.id, minute)
        money = _Reading.of(float(spend), max(watch.spend.mean, day_spend), watch.spend.dev, s)
        calls = _Reading.of(
            float(count), max(watch.requests.mean, day_requests), watch.requests.dev, s
        )
        reasons = []
        if spend >= s.min_spend_usd and money.observed > money.threshold:
            reasons.append("spend")
        if (
            spend >= s.min_spend_usd
            and count >= s.min_requests
            and calls.observed > calls.threshold
        ):
            reasons.append("requests")
        if watch.open is None:
            cooled = watch.last_fired is None or now - watch.last_fired >= timedelta(
                minutes=s.cooldown_minutes
            )
            if not reasons or not cooled:
                return None
            details = _anomaly_details(s, start, minute, reasons, money, calls, window)
            event = Event("endpoint.anomaly", project, details, now, audience=audience)
            watch.open, watch.last_fired = _Open(event.id, now), now
            return event
        idle = spend < s.min_spend_usd
        spend_calm = money.observed <= money.calm
        calls_calm = count < s.min_requests or calls.observed <= calls.calm
        if not (idle or (spend_calm and calls_calm)):
            return None
        details = {
            "anomaly_id": watch.open.event_id,
            "anomaly_started_at": watch.open.started,
            "duration_minutes": int((now - watch.open.started).total_seconds() // MINUTE),
            "window_minutes": s.window_minutes,
            "observed": _amounts(money.observed, calls.observed),
            "expected": _amounts(money.expected, calls.expected),
        }
        watch.open = None
        return Event("endpoint.recovered", project, details, now, audience=audience)

    def _fold(self, watch: _Watch, project_id: str, until: int) -> None:
        if watch.folded_until >= until:
            return
        s = watch.settings
        alpha = 1 - math.exp(-1 / s.baseline_minutes)
        buckets = self.series.minutes(project_id, watch.folded_until, until)
        min_spend = float(s.min_spend_usd) / s.window_minutes
        min_requests = s.min_requests / s.window_minutes
        for minute in range(watch.folded_until, until):
            bucket = buckets.get(minute)
            spend, count = (float(bucket.spend), bucket.requests) if bucket else (0.0, 0)
            spend_cap = watch.spend.ceiling(s.sensitivity, min_spend)
            count_cap = watch.requests.ceiling(s.sensitivity, min_requests)
            watch.spend.fold(spend if spend_cap is None else min(spend, spend_cap), alpha)
            watch.requests.fold(count if count_cap is None else min(count, count_cap), alpha)
        watch.folded_until = until

    def _day_rates(self, project_id: str, minute: int) -> tuple[float, float]:
        """Median per-minute spend and requests over the trailing day's active hours."""
        hour = minute * MINUTE // HOUR
        active = [b for b in self.series.hours(project_id, hour - 24, hour).values() if b.requests]
        if len(active) < DAY_MIN_ACTIVE_HOURS:
            return 0.0, 0.0
        spend = statistics.median(float(b.spend) for b in active) / MINUTES_PER_HOUR
        requests = statistics.median(b.requests for b in active) / MINUTES_PER_HOUR
        return spend, requests


def _anomaly_details(
    s: AnomalySettings,
    start: int,
    end: int,
    reasons: list[str],
    money: _Reading,
    calls: _Reading,
    window: Mapping[int, Bucket],
) -> dict[str, Any]:
    by_token: dict[str, Decimal] = defaultdict(Decimal)
    by_model: dict[str, Decimal] = defaultdict(Decimal)
    for bucket in window.values():
        for token, cost in bucket.by_token.items():
            by_token[token] += cost
        for model, cost in bucket.by_model.items():
            by_model[model] += cost
    # The window's own spend: a fleet's buckets (read from the store) carry no
    # per-token breakdown to sum.
    total = sum((bucket.spend for bucket in window.values()), Decimal())
    return {
        "reasons": reasons,
        "window_minutes": s.window_minutes,
        "window_start": datetime.fromtimestamp(start * MINUTE, UTC),
        "window_end": datetime.fromtimestamp(end * MINUTE, UTC),
        "observed": {"spend_usd": total.quantize(_CENTS), "requests": int(calls.observed)},
        "expected": _amounts(money.expected, calls.expected),
        "threshold": _amounts(money.threshold, calls.threshold),
        "ratio": round(money.observed / money.expected, 1) if money.expected else None,
        "settings": s.to_dict(),
        "top_tokens": _top("token", by_token, total),
        "top_models": _top("model", by_model, total),
    }


def _amounts(spend: float, requests: float) -> dict[str, Any]:
    return {"spend_usd": Decimal(repr(spend)).quantize(_CENTS), "requests": round(requests, 1)}


def _top(key: str, costs: Mapping[str, Decimal], total: Decimal) -> list[dict[str, Any]]:
    ranked = sorted(costs.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return [
        {
            key: name,
            "spend_usd": cost.quantize(_CENTS),
            "share": (cost / total).quantize(Decimal("0.01")) if total else None,
        }
        for name, cost in ranked
    ]
