"""What every access-log backend offers, and the errors readers see.

A `LogSink` only accepts records (the JSON-lines stream); a `LogStore` also
answers queries (SQLite now, PostgreSQL for a fleet later). `write()` is
called on the processor's event loop, so implementations hand records to a
background thread and never block; what they cannot keep is counted in
`dropped`, never lost silently.

    LogStoreError           any failure to open or read a store
    ├── LogStoreNotFound    nothing has been logged at that location yet
    └── UnsupportedStoreURL the URL names no backend we have
"""

from __future__ import annotations

import abc
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Self

from ..proto.access_log_pb2 import AccessLogRecord
from ._spend import ItemTotals, SpendKey, SpendPoint, SpendTotals, from_nano

logger = logging.getLogger("promptgate.logstore")


class LogStoreError(Exception):
    """A store could not be opened or read."""


class LogStoreNotFound(LogStoreError):
    """A reader asked for a store that does not exist yet."""


class UnsupportedStoreURL(LogStoreError):
    """The store URL's scheme or shape is not one we know."""


@dataclass(frozen=True)
class LogEntry:
    """A stored record with the id the store gave it; ids grow with each write."""

    id: int
    record: AccessLogRecord


@dataclass(frozen=True, slots=True)
class Bodies:
    """A record's prompt and response, handed to a sink beside the record.

    The processor has them as `str` already. Put into the protobuf and read
    back on the writer's thread, a 100 KB prompt is encoded and decoded once
    more, about 35 µs of the writer's interpreter time per record, so a
    record written by the processor carries neither.
    """

    prompt: str = ""
    response: str = ""

    @classmethod
    def apart(cls, record: AccessLogRecord) -> tuple[AccessLogRecord, Bodies]:
        """A copy of `record` without its prompt and response, and those two."""
        slim = AccessLogRecord()
        slim.CopyFrom(record)
        slim.ClearField("prompt")
        slim.ClearField("response")
        return slim, cls(record.prompt, record.response)

    def joined(self, record: AccessLogRecord) -> AccessLogRecord:
        """A copy of `record` holding these bodies (what a spool or a test keeps)."""
        whole = AccessLogRecord()
        whole.CopyFrom(record)
        whole.prompt, whole.response = self.prompt, self.response
        return whole


@dataclass(frozen=True)
class Retention:
    """How long records are kept (`logging.retention_days`; 0 keeps them forever).

    A store that writes deletes what is due in the background, every
    `interval` seconds, starting `first_delay` seconds after it opens.
    """

    days: int
    interval: float = 600.0
    first_delay: float = 30.0

    def cutoff(self, now: datetime | None = None) -> datetime:
        return (now or datetime.now(UTC)) - timedelta(days=self.days)

    def report(self, exc: Exception) -> None:
        logger.warning("access-log retention failed, will retry: %s", exc)


class LogSink(abc.ABC):
    """Accepts access-log records without ever blocking the caller."""

    @abc.abstractmethod
    def write(self, record: AccessLogRecord, bodies: Bodies | None = None) -> None:
        """Queue one record; the sink owns it from now on, so do not mutate it.

        `bodies` are its prompt and response when the record holds none (the
        processor); without them the record's own are taken (a replay, a test).
        """

    @abc.abstractmethod
    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued (waiting at most `timeout` seconds), then release."""

    @property
    @abc.abstractmethod
    def dropped(self) -> int:
        """Records accepted by `write()` that will never be stored."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LogStore(LogSink):
    """A sink that can also be queried, by `logs`, `costs`, the console and start-up.

    Nothing here reads more than it returns: reports and budget seeding
    read running totals the store keeps as it writes, never the records.
    """

    @abc.abstractmethod
    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        project: str | None = None,
        token: str | None = None,
        model: str | None = None,
        status: int | None = None,
        limit: int | None = None,
        after_id: int = 0,
        before_id: int | None = None,
        bodies: bool = True,
        alias: str | None = None,
        session: str | None = None,
        finding: str | None = None,
    ) -> list[LogEntry]:
        """The newest `limit` entries with an id in (`after_id`, `before_id`), oldest first.

        `since`/`until` bound the record's time ([since, until)); `project`
        matches the project's id or name; `model` the model requested or sent;
        `session` the Claude Code session id; `finding` a guardrail rule that
        found something in the request. Every filter is indexed. Without
        `bodies` the prompt and response are left out (and not read).
        """

    @abc.abstractmethod
    def spend_totals(
        self, since: datetime | None, until: datetime | None
    ) -> dict[SpendKey, SpendTotals]:
        """Exact sums per (project, token, provider, model, alias) over [since, until)."""

    @abc.abstractmethod
    def item_totals(
        self, since: datetime | None, until: datetime | None
    ) -> dict[tuple[SpendKey, str], ItemTotals]:
        """Cost and quantity per (key, billable dimension) over [since, until)."""

    @abc.abstractmethod
    def spend_series(self, since: datetime, bucket_seconds: int) -> list[SpendPoint]:
        """Spend per project and bucket from the one holding `since`, oldest first.

        Buckets start at multiples of `bucket_seconds` since the epoch; whole
        hours are read from the running totals.
        """

    @abc.abstractmethod
    def estimate_samples(
        self, since: datetime | None, until: datetime | None, limit: int
    ) -> list[tuple[SpendKey, int, int]]:
        """(key, estimated input tokens, actual input tokens) of the newest `limit` requests."""

    @abc.abstractmethod
    def prune(self, cutoff: datetime) -> int:
        """Delete everything older than `cutoff`; the number of rows deleted."""

    def spend_by_token(self, since: datetime) -> dict[tuple[str, str], Decimal]:
        """Priced spend per (project id, token id) since `since`: what budgets start from."""
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for key, totals in self.spend_totals(since, None).items():
            sums[(key.project_id, key.token_id)] += totals.cost_nusd
        return {key: from_nano(value) for key, value in sums.items() if value}
