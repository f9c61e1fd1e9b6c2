"""Where access-log records go: a queryable store plus optional sinks.

The processor calls `write()` from its event loop once per finished
request; the `logs` command and reports call `query()`, usually from another
process. `open_store("sqlite:///promptgate.db")` gives the embedded default; a
shared backend for a fleet will be another `LogStore`.
"""

from ._base import (
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
from ._url import open_store, sqlite_path

__all__ = [
    "DIMENSIONS",
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
    "open_store",
    "record_to_dict",
    "record_to_json",
    "sqlite_path",
]
