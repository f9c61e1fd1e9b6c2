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
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

from ..proto.access_log_pb2 import AccessLogRecord


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


class LogSink(abc.ABC):
    """Accepts access-log records without ever blocking the caller."""

    @abc.abstractmethod
    def write(self, record: AccessLogRecord) -> None:
        """Queue one record; the sink owns it from now on, so do not mutate it."""

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
    """A sink that can also be queried, by the `logs` command and by reports."""

    @abc.abstractmethod
    def query(
        self,
        *,
        since: datetime | None = None,
        project: str | None = None,
        limit: int | None = None,
        after_id: int = 0,
    ) -> list[LogEntry]:
        """The newest `limit` entries with an id above `after_id`, oldest first.

        `since` is an aware datetime compared with the record's time; `project`
        matches the project's id or its name.
        """
