"""Spend watching in the processor: budgets at the door, anomalies and webhooks after.

Everything here runs on the event loop: budget checks after authentication,
accounting after each finished request (scheduled onto the loop from
whatever thread finished it), anomaly evaluation in a background task, and
webhook delivery from the durable outbox.

On a PostgreSQL store the fleet shares the state, and so do the
processor processes of one instance on its SQLite file. Budgets: every
FLEET_SYNC_SECONDS each instance reads the current day's and month's spend
per project and token from the store's running totals, adds what it logged
that the store does not hold yet, and takes that as its counters (its own
requests still count at once). Records reach the store within a second
(one batch), so every instance sees a budget spent within about a second
plus FLEET_SYNC_SECONDS, and the fleet overshoots a budget by at most the
requests in flight plus that much traffic. Anomalies: one instance at a
time (the holder of an advisory lock, on SQLite of a file lock) evaluates
the store's series; the outbox is the shared table (or file), so any
instance delivers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol, runtime_checkable

from ..logstore import LogStore
from ..logstore._postgres import PostgresLogStore
from ..logstore._postgres_schema import ANOMALY_LEADER_LOCK
from ..logstore._spend import SpendKey, SpendPoint, SpendTotals
from ..proto.access_log_pb2 import AccessLogRecord
from ..spend import (
    AnomalyDetector,
    Budget,
    BudgetTracker,
)
from ..spend._fleet import FleetSpendSeries
from ..spend._series import MINUTE
from ..spend.budget import Period, window
from ..webhooks import DeliveryWorker, Event, Outbox, ProjectRef, Subscription
from ..webhooks._outbox_postgres import PostgresOutbox
from .bundle import Bundle, Project, Token

log = logging.getLogger("promptgate.spend")
EXPIRY_WARNING_DAYS = 7
FLEET_SYNC_SECONDS = 0.25
# The month before today changes only by late (spooled) records: read it seldom.
_MONTH_REFRESH = timedelta(seconds=60)


def _budgets(bundle: Bundle) -> list[Budget]:
    return [
        Budget.from_spec(ProjectRef(project.id, project.name), entry)
        for project in bundle.projects.values()
        for entry in project.budgets
    ]


@runtime_checkable
class SharedStore(Protocol):
    """A store that other processes log to as well: what shared budgets and anomalies read."""

    def unflushed_spend(self) -> dict[tuple[str, str], Decimal]: ...

    def lead(self, key: int) -> bool: ...

    def spend_by_token(self, since: datetime) -> dict[tuple[str, str], Decimal]: ...

    def spend_totals(
        self, since: datetime | None, until: datetime | None
    ) -> dict[SpendKey, SpendTotals]: ...

    def spend_series(self, since: datetime, bucket_seconds: int) -> list[SpendPoint]: ...


def fleet_outbox(store: LogStore | None) -> Outbox | None:
    """The shared outbox when the store is the fleet's PostgreSQL, else None."""
    if isinstance(store, PostgresLogStore):
        return PostgresOutbox(store.pool, store.spool)
    return None


class SpendWatch:
    def __init__(self, bundle: Bundle, outbox: Outbox, *, shared: bool = False) -> None:
        self.tracker = BudgetTracker([])
        self.detector = AnomalyDetector({})
        self.worker = DeliveryWorker(outbox)
        # Whether other processes log to the same store (always so on PostgreSQL).
        self._shared = shared
        self._fleet: SharedStore | None = None
        # (day start, when read, spend per holder) of the month before today.
        self._month_before_today: (
            tuple[datetime, datetime, dict[tuple[str, str], Decimal]] | None
        ) = None
        self._subscriptions: list[Subscription] = []
        self._projects: list[Project] = []
        self._store: LogStore | None = None
        self._budgets_seeded = self._anomalies_seeded = False
        self.reload(bundle)
        self._task: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None
        self._budget_sync: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, store: LogStore | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._store = store
        if isinstance(store, SharedStore) and (self._shared or isinstance(store, PostgresLogStore)):
            self._fleet = store
            self.detector.series = FleetSpendSeries()
        self._seed()
        self.worker.start()
        if self._fleet is None:
            self._task = self._loop.create_task(self.detector.run(self.emit), name="anomalies")
        else:
            self._task = self._loop.create_task(self._lead_anomalies(), name="fleet-anomalies")
            self._budget_sync = self._loop.create_task(self._sync_budgets(), name="fleet-budgets")
        self._sweep = self._loop.create_task(self._sweep_hourly(), name="expiry-sweep")

    async def stop(self) -> None:
        for task in (self._task, self._sweep, self._budget_sync):
            if task is not None:
                task.cancel()
        await self.worker.stop()
        self.worker.outbox.close()

    def reload(self, bundle: Bundle) -> None:
        """Take a bundle's subscriptions, budgets and tokens; spend counted so far stays."""
        self._subscriptions = list(bundle.subscriptions)
        self.tracker.update_budgets(_budgets(bundle))
        self.detector.update_rules(bundle.anomaly_rules)
        self._projects = list(bundle.projects.values())
        self._seed()

    def _seed(self) -> None:
        """After a restart, state that needs history starts from the store's totals.

        Budgets count what this day and month already spent; the anomaly
        baseline gets the last hours, so a restarted gateway pages on a spike
        at once. Each is read once, from aggregates (a few rows per hour), and
        only when a budget or an anomaly subscription needs it: a policy with
        neither reads nothing.
        """
        if self._store is None:
            return
        now = datetime.now(UTC)
        if not self._budgets_seeded and self.tracker.budgets:
            self.tracker.seed(self._store.spend_by_token, now)
            self._budgets_seeded = True
        if not self._anomalies_seeded and self.detector.watching:
            refs = {p.id: ProjectRef(p.id, p.name) for p in self._projects}
            self.detector.seed(self._store, refs, now)
            self._anomalies_seeded = True

    def emit(self, event: Event) -> None:
        self.worker.submit(event, self._subscriptions)

    def over_budget(self, project: Project, token: Token) -> str | None:
        """The message for a refused request, when a budget of this project or token is spent."""
        exceeded = self.tracker.check(project.id, token.id, datetime.now(UTC))
        return exceeded.message if exceeded is not None else None

    def account(self, record: AccessLogRecord) -> None:
        """Count a finished request; call from any thread."""
        if self._loop is not None and record.project_id:
            self._loop.call_soon_threadsafe(self._account, record)

    def _account(self, record: AccessLogRecord) -> None:
        now = datetime.now(UTC)
        project = ProjectRef(record.project_id, record.project_name)
        blocked = [f for f in record.guardrail_findings if f.action == "block"]
        if blocked and record.status == 400:
            details = {
                "token": record.token_id,
                "findings": [{"rule": f.rule, "location": f.location} for f in blocked],
                "request_id": record.request_id,
            }
            self.emit(Event("guardrail.blocked", project, details, now))
        if not record.token_id or not record.provider:
            return
        cost = Decimal(record.cost_usd) if record.priced and record.cost_usd else Decimal(0)
        self.detector.observe(project, now, cost, record.token_id, record.model_sent)
        for event in self.tracker.record(record.project_id, record.token_id, cost, now):
            self.emit(event)

    async def _sync_budgets(self) -> None:
        """Take the fleet's spend into the budget counters, every FLEET_SYNC_SECONDS."""
        while True:
            await asyncio.sleep(FLEET_SYNC_SECONDS)
            if not self.tracker.budgets:
                continue
            now = datetime.now(UTC)
            try:
                spend = await asyncio.to_thread(self._fleet_spend, now)
            except Exception as exc:  # the database is away: keep the last known spend
                log.warning("fleet budget sync failed, enforcing on last known spend: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for event in self.tracker.sync(spend, now):
                self.emit(event)

    def _fleet_spend(self, now: datetime) -> dict[Period, dict[tuple[str, str], Decimal]]:
        """Store totals of today and this month plus this process's unflushed spend."""
        assert self._fleet is not None
        # Read before the totals: a batch committed in between counts twice
        # for one round rather than not at all.
        unflushed = self._fleet.unflushed_spend()
        day_start, _ = window("day", now)
        month_start, _ = window("month", now)
        day = _add(self._fleet.spend_by_token(day_start), unflushed)
        cached = self._month_before_today
        if cached is None or cached[0] != day_start or now - cached[1] > _MONTH_REFRESH:
            before = self._fleet.spend_totals(month_start, day_start)
            sums: dict[tuple[str, str], Decimal] = {}
            for key, totals in before.items():
                holder = (key.project_id, key.token_id)
                sums[holder] = sums.get(holder, Decimal(0)) + totals.cost
            cached = self._month_before_today = (day_start, now, sums)
        return {"day": day, "month": _add(cached[2], day)}

    async def _lead_anomalies(self) -> None:
        """Evaluate the fleet's series while this instance holds the leader lock."""
        assert self._fleet is not None
        store = self._fleet
        series = self.detector.series
        assert isinstance(series, FleetSpendSeries)
        while True:
            try:
                if self.detector.watching and await asyncio.to_thread(
                    store.lead, ANOMALY_LEADER_LOCK
                ):
                    now = datetime.now(UTC)
                    refs = {p.id: ProjectRef(p.id, p.name) for p in self._projects}
                    await asyncio.to_thread(series.refresh, store, refs, now)
                    for event in self.detector.evaluate(now):
                        self.emit(event)
            except Exception:
                log.exception("fleet anomaly evaluation failed")
            await asyncio.sleep(MINUTE / 3)

    async def _sweep_hourly(self) -> None:
        while True:
            now = datetime.now(UTC)
            for event in expiring_tokens(self._projects, now):
                self.emit(event)
            self.tracker.forget_old_windows(now)
            await asyncio.sleep(3600)


def _add(
    a: dict[tuple[str, str], Decimal], b: dict[tuple[str, str], Decimal]
) -> dict[tuple[str, str], Decimal]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, Decimal(0)) + value
    return out


def expiring_tokens(projects: Iterable[Project], now: datetime) -> list[Event]:
    """``token.expiring`` for each live token that expires within the warning period.

    The event id is derived from the project, token and expiry date, so the
    outbox (which ignores an id it already holds) sends each warning once,
    however often the sweep runs and across restarts.
    """
    today = now.date()
    events = []
    for project in projects:
        for token in project.tokens.values():
            if token.revoked or token.expires is None:
                continue
            days_left = (token.expires - today).days
            if not 0 <= days_left <= EXPIRY_WARNING_DAYS:
                continue
            key = f"token.expiring:{project.id}:{token.id}:{token.expires.isoformat()}"
            details = {
                "token": token.id,
                "expires": token.expires.isoformat(),
                "days_left": days_left,
            }
            events.append(
                Event(
                    "token.expiring",
                    ProjectRef(project.id, project.name),
                    details,
                    now,
                    id="evt_" + hashlib.sha256(key.encode()).hexdigest()[:32],
                )
            )
    return events
