"""Where access-log records go: a queryable store plus optional sinks.

The processor calls `write()` from its event loop once per finished
request; the `logs` command and reports call `query()`, usually from another
process. `open_store("sqlite:///promptgate.db")` gives the embedded default; a
fleet shares one PostgreSQL database (`postgresql://user@host/db`).
"""

from ._base import (
    Bodies,
    LogEntry,
    LogSink,
    LogStore,
    LogStoreError,
    LogStoreNotFound,
    Retention,
    UnsupportedStoreURL,
)
from ._bodies import cap_body
from ._jsonl import JsonLinesSink, record_to_dict, record_to_json
from ._spend import DIMENSIONS, Dimension, ItemTotals, SpendKey, SpendTotals, from_nano
from ._sqlite import SQLiteLogStore
from ._url import is_postgres, open_store, postgres_url_problem, sqlite_path

__all__ = [
    "DIMENSIONS",
    "Bodies",
    "Dimension",
    "ItemTotals",
    "JsonLinesSink",
    "LogEntry",
    "LogSink",
    "LogStore",
    "LogStoreError",
    "LogStoreNotFound",
    "Retention",
    "SQLiteLogStore",
    "SpendKey",
    "SpendTotals",
    "UnsupportedStoreURL",
    "cap_body",
    "from_nano",
    "is_postgres",
    "open_store",
    "postgres_url_problem",
    "record_to_dict",
    "record_to_json",
    "sqlite_path",
]
