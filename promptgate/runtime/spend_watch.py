"""Spend watching in the processor: budgets at the door, anomalies and webhooks after.

Everything here runs on the event loop: budget checks after authentication,
accounting after each finished request (scheduled onto the loop from
whatever thread finished it), anomaly evaluation in a background task, and
webhook delivery from the durable outbox.
"""

from __future__ import annotations

import asyncio
import logging
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
    spend_by_token,
)
from ..webhooks import DeliveryWorker, Event, ProjectRef, SQLiteOutbox, Subscription
from .bundle import Bundle, Project, Token

log = logging.getLogger("promptgate.processor")


def _budgets(bundle: Bundle) -> list[Budget]:
    return [
        Budget.from_dict(ProjectRef(project.id, project.name), entry)
        for project in bundle.projects.values()
        for entry in project.budgets
    ]


class SpendWatch:
    def __init__(self, bundle: Bundle, outbox_path: Path) -> None:
        self._subscriptions = [Subscription.from_dict(w) for w in bundle.webhooks]
        self.tracker = BudgetTracker(_budgets(bundle))
        self.detector = AnomalyDetector(rules_from_subscriptions(bundle.webhooks))
        self.worker = DeliveryWorker(SQLiteOutbox(outbox_path))
        self._projects = {p.id: p for p in bundle.projects.values()}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, store: LogStore | None) -> None:
        self._loop = asyncio.get_running_loop()
        if store is not None:
            # After a restart, budgets count what this month already spent.
            self.tracker.seed(
                lambda since: spend_by_token(e.record for e in store.query(since=since)),
                datetime.now(UTC),
            )
        self.worker.start()
        self._task = self._loop.create_task(self.detector.run(self.emit), name="anomalies")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.worker.stop()
        self.worker.outbox.close()

    def reload(self, bundle: Bundle) -> None:
        self._subscriptions = [Subscription.from_dict(w) for w in bundle.webhooks]
        self.tracker.update_budgets(_budgets(bundle))
        self.detector.update_rules(rules_from_subscriptions(bundle.webhooks))
        self._projects = {p.id: p for p in bundle.projects.values()}

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

    def forget_old(self) -> None:
        self.tracker.forget_old_windows(datetime.now(UTC))
