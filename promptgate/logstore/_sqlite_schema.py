"""The SQLite store's tables, and the migrations between their versions.

Version 1 kept every record whole (bodies inside the protobuf) and nothing
else. Version 2 adds what reports and start-up need without reading
records: exact nano-dollar cost columns, the input-token estimate, hourly
running totals (`spend_hourly`), and bodies stored once per chunk
(`body_chunk`), referenced from the record's row. Version 3 adds the cost
breakdown by billable dimension, per record (`cost_item`) and per hour
(`spend_item_hourly`). Version 4 adds what the console filters on: the
Claude Code session, the alias and status with an index each, and one row
per guardrail rule that found something (`access_log_finding`); rows
written before it carry no session or findings to filter on. Migrations
run inside one write transaction, so processes starting together on one
file apply each step once.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 4

TOTALS = """
    requests INTEGER NOT NULL,
    unpriced INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL,
    routed INTEGER NOT NULL,
    routed_cost_nusd INTEGER NOT NULL,
    routed_baseline_nusd INTEGER NOT NULL"""

# What the hourly totals are kept per (`_spend.SpendKey`).
KEY_DDL = """
    project_id TEXT NOT NULL,
    project_name TEXT NOT NULL,
    token_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    alias TEXT NOT NULL,"""

_V1 = """
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    project_name TEXT NOT NULL,
    token_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model_requested TEXT NOT NULL,
    model_sent TEXT NOT NULL,
    alias TEXT NOT NULL,
    status INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_input_tokens INTEGER NOT NULL,
    cache_read_input_tokens INTEGER NOT NULL,
    cost_usd TEXT NOT NULL,
    requested_model_cost_usd TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS access_log_time ON access_log (time_us);
CREATE INDEX IF NOT EXISTS access_log_project_id ON access_log (project_id);
CREATE INDEX IF NOT EXISTS access_log_project_name ON access_log (project_name);
"""

_V2 = f"""
ALTER TABLE access_log ADD COLUMN estimated_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_log ADD COLUMN cost_nusd INTEGER;
ALTER TABLE access_log ADD COLUMN baseline_nusd INTEGER;
ALTER TABLE access_log ADD COLUMN prompt_chunks BLOB;
ALTER TABLE access_log ADD COLUMN response_chunks BLOB;
CREATE INDEX access_log_token ON access_log (token_id, id);
CREATE INDEX access_log_model ON access_log (model_sent, id);

CREATE TABLE body_chunk (
    digest BLOB NOT NULL PRIMARY KEY,
    data BLOB NOT NULL,
    last_us INTEGER NOT NULL
);
CREATE INDEX body_chunk_last ON body_chunk (last_us);

CREATE TABLE spend_hourly (
    hour_us INTEGER NOT NULL,{KEY_DDL}{TOTALS},
    PRIMARY KEY (hour_us, project_id, project_name, token_id, provider, model, alias)
);

-- Version 1 rows: cost_usd is empty exactly when the request was unpriced.
UPDATE access_log SET
    cost_nusd = CASE WHEN cost_usd != ''
        THEN CAST(ROUND(CAST(cost_usd AS REAL) * 1e9) AS INTEGER) END,
    baseline_nusd = CASE WHEN requested_model_cost_usd != ''
        THEN CAST(ROUND(CAST(requested_model_cost_usd AS REAL) * 1e9) AS INTEGER) END;
"""

# One row's contribution to the totals, in SQL: the same rules as
# `_spend.spend_of` (a test holds the two to the same answers).
MODEL_EXPR = "CASE WHEN model_sent != '' THEN model_sent ELSE model_requested END"
KEY_COLUMNS = f"project_id, project_name, token_id, provider, {MODEL_EXPR}, alias"
SUMS = """
    COUNT(*),
    COALESCE(SUM(cost_nusd IS NULL AND input_tokens + cache_creation_input_tokens
        + cache_read_input_tokens + output_tokens > 0), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(cache_creation_input_tokens), 0),
    COALESCE(SUM(cache_read_input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(cost_nusd), 0),
    COALESCE(SUM(alias != '' AND cost_nusd IS NOT NULL AND baseline_nusd IS NOT NULL), 0),
    COALESCE(SUM(CASE WHEN alias != '' AND baseline_nusd IS NOT NULL THEN cost_nusd END), 0),
    COALESCE(SUM(CASE WHEN alias != '' AND cost_nusd IS NOT NULL THEN baseline_nusd END), 0)"""

REBUILD_TOTALS = f"""
INSERT INTO spend_hourly
SELECT time_us - time_us % 3600000000, {KEY_COLUMNS}, {SUMS}
FROM access_log GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
"""Hourly totals from the records' columns (for records written without them)."""

_V3 = f"""
CREATE TABLE cost_item (
    log_id INTEGER NOT NULL,
    time_us INTEGER NOT NULL,
    dimension TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL
);
CREATE INDEX cost_item_time ON cost_item (time_us);
CREATE INDEX cost_item_log ON cost_item (log_id);

CREATE TABLE spend_item_hourly (
    hour_us INTEGER NOT NULL,{KEY_DDL}
    dimension TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL,
    PRIMARY KEY (hour_us, project_id, project_name, token_id, provider, model, alias, dimension)
);
"""

_V4 = """
ALTER TABLE access_log ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
CREATE INDEX access_log_session ON access_log (session_id, id);
CREATE INDEX access_log_alias ON access_log (alias, id);
CREATE INDEX access_log_status ON access_log (status, id);

CREATE TABLE access_log_finding (
    log_id INTEGER NOT NULL,
    time_us INTEGER NOT NULL,
    rule TEXT NOT NULL
);
CREATE INDEX access_log_finding_rule ON access_log_finding (rule, log_id);
CREATE INDEX access_log_finding_time ON access_log_finding (time_us);
"""

_MIGRATIONS = {1: _V1, 2: _V2 + REBUILD_TOTALS, 3: _V3, 4: _V4}


class NewerSchema(Exception):
    """The file was written by a newer PromptGate."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def check_version(connection: sqlite3.Connection) -> int:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise NewerSchema(version)
    return int(version)


def migrate(connection: sqlite3.Connection) -> None:
    """Bring the file to SCHEMA_VERSION; safe when several processes do it at once."""
    if check_version(connection) == SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        version = check_version(connection)
        if version == 0 and _has_table(connection, "access_log"):
            version = 1
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _statements(_MIGRATIONS[step]):
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    row = connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return row is not None


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; split into statements instead.
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
