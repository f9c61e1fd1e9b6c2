"""Spend budgets per project and per token, per UTC day or month.

A request is refused while any budget that covers it is spent (spent >=
limit); the request that crosses the limit still completes, since its cost
is known only afterwards. Counters are kept per (project, token, period,
window), independent of the limits, so a policy reload that raises a limit
lifts the block at once and one that adds a budget counts what was already
spent. `seed()` fills the counters from the access log after a restart.
"""

from __future__ import annotations

import abc
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from ..bundle import BudgetSpec
from ..webhooks import Event, ProjectRef

Period = Literal["day", "month"]
Scope = Literal["project", "token"]
PROJECT_WIDE = ""

SpendSince = Callable[[datetime], Mapping[tuple[str, str], Decimal]]
"""Spend per (project id, token id) since a moment, e.g. summed from the access log."""


@dataclass(frozen=True)
class Budget:
    """A limit on a project's spend, or on a token's (one named token, or each token)."""

    project: ProjectRef
    scope: Scope
    period: Period
    limit_usd: Decimal
    token: str | None = None

    @classmethod
    def from_spec(cls, project: ProjectRef, spec: BudgetSpec) -> Budget:
        """A project's budget as the bundle states it (checked when the bundle loaded)."""
        return cls(project, spec.scope, spec.period, spec.limit_usd, spec.token)

    def covers(self, token_id: str) -> bool:
        return self.scope == "project" or self.token in (None, token_id)

    def describe(self, token_id: str) -> str:
        period = "daily" if self.period == "day" else "monthly"
        whose = (
            f"project '{self.project.name}'" if self.scope == "project" else f"token '{token_id}'"
        )
        return f"the {period} budget of ${self.limit_usd} for {whose}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "token": self.token,
            "period": self.period,
            "limit_usd": self.limit_usd,
        }


@dataclass(frozen=True)
class Exceeded:
    """Why a request is refused: which budget, how much is spent, and when it resets."""

    budget: Budget
    token_id: str
    spent_usd: Decimal
    resets_at: datetime

    @property
    def limit_usd(self) -> Decimal:
        return self.budget.limit_usd

    @property
    def message(self) -> str:
        resets = self.resets_at.strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"PromptGate: {self.budget.describe(self.token_id)} is spent "
            f"(${self.spent_usd.quantize(Decimal('0.01'))}); it resets at {resets}."
        )

    def event(self, now: datetime) -> Event:
        details = {
            "budget": self.budget.to_dict(),
            "token": self.token_id if self.budget.scope == "token" else None,
            "limit_usd": self.limit_usd,
            "spent_usd": self.spent_usd,
            "resets_at": self.resets_at,
        }
        # One id per budget, holder and window: instances of a fleet that all
        # see the budget spent raise the same event, and the outbox keeps one.
        holder = self.token_id if self.budget.scope == "token" else PROJECT_WIDE
        start, _ = window(self.budget.period, now)
        key = f"budget.exceeded:{self.budget.project.id}:{self.budget.to_dict()}:{holder}:{start}"
        event_id = "evt_" + hashlib.sha256(key.encode()).hexdigest()[:32]
        return Event("budget.exceeded", self.budget.project, details, now, id=event_id)


def window(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """The UTC day or month holding `now`: [start, end)."""
    now = now.astimezone(UTC)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


CounterKey = tuple[str, str, Period, datetime]
"""(project id, token id or PROJECT_WIDE, period, window start)."""


class BudgetCounters(abc.ABC):
    """Spend per window; in-process by default, Redis or similar for a fleet."""

    @abc.abstractmethod
    def add(self, key: CounterKey, amount: Decimal) -> Decimal:
        """Add and return the new total."""

    @abc.abstractmethod
    def get(self, key: CounterKey) -> Decimal: ...

    @abc.abstractmethod
    def set(self, key: CounterKey, amount: Decimal) -> None: ...

    @abc.abstractmethod
    def forget_before(self, start: datetime) -> None:
        """Drop windows that started before `start`."""


class InMemoryBudgetCounters(BudgetCounters):
    def __init__(self) -> None:
        self._totals: dict[CounterKey, Decimal] = defaultdict(Decimal)

    def add(self, key: CounterKey, amount: Decimal) -> Decimal:
        self._totals[key] += amount
        return self._totals[key]

    def get(self, key: CounterKey) -> Decimal:
        return self._totals.get(key, Decimal())

    def set(self, key: CounterKey, amount: Decimal) -> None:
        self._totals[key] = amount

    def forget_before(self, start: datetime) -> None:
        for key in [k for k in self._totals if k[3] < start]:
            del self._totals[key]


class BudgetTracker:
    """Checks requests against budgets and counts what they cost; use it from one thread."""

    def __init__(
        self, budgets: Iterable[Budget] = (), *, counters: BudgetCounters | None = None
    ) -> None:
        self.counters = counters or InMemoryBudgetCounters()
        self._budgets: dict[str, list[Budget]] = {}
        self._notified: set[tuple[Budget, str, datetime]] = set()
        self.update_budgets(budgets)

    @property
    def budgets(self) -> bool:
        """Whether any budget is set (else nothing needs seeding)."""
        return bool(self._budgets)

    def update_budgets(self, budgets: Iterable[Budget]) -> None:
        """Take a reloaded policy's budgets; what was spent stays counted."""
        by_project: dict[str, list[Budget]] = defaultdict(list)
        for budget in budgets:
            by_project[budget.project.id].append(budget)
        self._budgets = dict(by_project)

    def check(self, project_id: str, token_id: str, now: datetime) -> Exceeded | None:
        """The spent budget that blocks this request longest, if any."""
        exceeded = self._spent(project_id, token_id, now)
        if not exceeded:
            return None
        return max(exceeded, key=lambda e: (e.resets_at, e.budget.scope == "token"))

    def record(self, project_id: str, token_id: str, cost: Decimal, now: datetime) -> list[Event]:
        """Count a finished request; a `budget.exceeded` event for each budget it spent."""
        for period in ("day", "month"):
            start, _ = window(period, now)
            self.counters.add((project_id, PROJECT_WIDE, period, start), cost)
            self.counters.add((project_id, token_id, period, start), cost)
        events = []
        for exceeded in self._spent(project_id, token_id, now):
            mark = _mark(exceeded, window(exceeded.budget.period, now)[0])
            if mark not in self._notified:
                self._notified.add(mark)
                events.append(exceeded.event(now))
        return events

    def seed(self, spend_since: SpendSince, now: datetime) -> None:
        """Load the current windows' spend (from the access log) after a restart.

        Budgets already spent count as notified: their event went out before
        the restart.
        """
        for period in ("day", "month"):
            start, _ = window(period, now)
            totals: dict[str, Decimal] = defaultdict(Decimal)
            spend = spend_since(start)
            for (project_id, token_id), amount in spend.items():
                self.counters.set((project_id, token_id, period, start), amount)
                totals[project_id] += amount
            for project_id, amount in totals.items():
                self.counters.set((project_id, PROJECT_WIDE, period, start), amount)
            for project_id, token_id in spend:
                for exceeded in self._spent(project_id, token_id, now):
                    if exceeded.budget.period == period:
                        self._notified.add(_mark(exceeded, start))

    def sync(
        self, spend: Mapping[Period, Mapping[tuple[str, str], Decimal]], now: datetime
    ) -> list[Event]:
        """Take the fleet's spend in the current day and month (per project and token).

        `spend` is what the shared store holds plus what this process logged
        and the store does not hold yet; it replaces the counters of the
        windows holding `now`. Returns a `budget.exceeded` for each budget
        found spent that was not yet notified (its id is the same on every
        instance, so the fleet's outbox sends it once).
        """
        for period, amounts in spend.items():
            start, _ = window(period, now)
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for (project_id, token_id), amount in amounts.items():
                self.counters.set((project_id, token_id, period, start), amount)
                totals[project_id] += amount
            for project_id, amount in totals.items():
                self.counters.set((project_id, PROJECT_WIDE, period, start), amount)
        events = []
        holders = {key for amounts in spend.values() for key in amounts}
        for project_id, token_id in sorted(holders):
            for exceeded in self._spent(project_id, token_id, now):
                mark = _mark(exceeded, window(exceeded.budget.period, now)[0])
                if mark not in self._notified:
                    self._notified.add(mark)
                    events.append(exceeded.event(now))
        return events

    def forget_old_windows(self, now: datetime) -> None:
        """Drop finished windows; call it now and then (say, hourly)."""
        month_start, _ = window("month", now)
        self.counters.forget_before(month_start)
        self._notified = {m for m in self._notified if m[2] >= month_start}

    def _spent(self, project_id: str, token_id: str, now: datetime) -> list[Exceeded]:
        found = []
        for budget in self._budgets.get(project_id, ()):
            if budget.covers(token_id):
                exceeded = self._exceeded(budget, project_id, token_id, now)
                if exceeded is not None:
                    found.append(exceeded)
        return found

    def _exceeded(
        self, budget: Budget, project_id: str, token_id: str, now: datetime
    ) -> Exceeded | None:
        start, end = window(budget.period, now)
        counter = PROJECT_WIDE if budget.scope == "project" else token_id
        spent = self.counters.get((project_id, counter, budget.period, start))
        return Exceeded(budget, token_id, spent, end) if spent >= budget.limit_usd else None


def _mark(exceeded: Exceeded, start: datetime) -> tuple[Budget, str, datetime]:
    """One notification per budget, window and (for per-token budgets) token."""
    holder = exceeded.token_id if exceeded.budget.scope == "token" else PROJECT_WIDE
    return (exceeded.budget, holder, start)
