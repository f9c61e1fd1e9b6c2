"""Spend watching in the processor: budgets at the door, anomalies and webhooks after.

Everything here runs on the event loop: budget checks after authentication,
accounting after each finished request (scheduled onto the loop from
whatever thread finished it), anomaly evaluation in a background task, and
webhook delivery from the durable outbox.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ..logstore import LogStore
from ..proto.access_log_pb2 import AccessLogRecord
from ..spend import (
    AnomalyDetector,
    Budget,
    BudgetTracker,
    rules_from_subscriptions,
)
from ..webhooks import DeliveryWorker, Event, ProjectRef, SQLiteOutbox, Subscription
from .bundle import Bundle, Project, Token

EXPIRY_WARNING_DAYS = 7


def _budgets(bundle: Bundle) -> list[Budget]:
    return [
        Budget.from_dict(ProjectRef(project.id, project.name), entry)
        for project in bundle.projects.values()
        for entry in project.budgets
    ]


class SpendWatch:
    def __init__(self, bundle: Bundle, outbox_path: Path) -> None:
        self.tracker = BudgetTracker([])
        self.detector = AnomalyDetector({})
        self.worker = DeliveryWorker(SQLiteOutbox(outbox_path))
        self._subscriptions: list[Subscription] = []
        self._projects: list[Project] = []
        self._store: LogStore | None = None
        self._budgets_seeded = self._anomalies_seeded = False
        self.reload(bundle)
        self._task: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, store: LogStore | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._store = store
        self._seed()
        self.worker.start()
        self._task = self._loop.create_task(self.detector.run(self.emit), name="anomalies")
        self._sweep = self._loop.create_task(self._sweep_hourly(), name="expiry-sweep")

    async def stop(self) -> None:
        for task in (self._task, self._sweep):
            if task is not None:
                task.cancel()
        await self.worker.stop()
        self.worker.outbox.close()

    def reload(self, bundle: Bundle) -> None:
        """Take a bundle's subscriptions, budgets and tokens; spend counted so far stays."""
        self._subscriptions = [Subscription.from_dict(w) for w in bundle.webhooks]
        self.tracker.update_budgets(_budgets(bundle))
        self.detector.update_rules(rules_from_subscriptions(bundle.webhooks))
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

    async def _sweep_hourly(self) -> None:
        while True:
            now = datetime.now(UTC)
            for event in expiring_tokens(self._projects, now):
                self.emit(event)
            self.tracker.forget_old_windows(now)
            await asyncio.sleep(3600)


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
