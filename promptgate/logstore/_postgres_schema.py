"""The PostgreSQL store's tables, their migrations, and the access log's daily partitions.

The same ideas as the SQLite schema (`_sqlite_schema`): columns for what
is filtered or summed, the record as protobuf without its bodies, bodies
once per chunk in `body_chunk`, hourly running totals in `spend_hourly`.
What differs: `access_log` is partitioned by day on `time_us`, so retention
drops whole partitions instead of deleting rows; every row carries a `uid`
chosen by the writing process, so a batch replayed from the local spool
after an outage is inserted once (`ON CONFLICT DO NOTHING`) and counted in
the totals once; the webhook outbox lives here too, shared by every
instance. Version 2 adds what the console filters on (session, guardrail
findings, alias and status indexes); version 3 the cost breakdown by
billable dimension, per record (`cost_item`, partitioned by day like the
log it belongs to) and per hour (`spend_item_hourly`), as SQLite's schema 3
does.

Migrations run in one transaction under an advisory lock, so instances
starting together apply each step once and the others wait, then see it
done.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from psycopg import Connection as _Connection
from psycopg.rows import TupleRow

Connection = _Connection[TupleRow]

SCHEMA_VERSION = 4
# Advisory lock keys (one 64-bit space per database): the text "pgate" and a step.
MIGRATE_LOCK = 0x7067617465_01
PARTITION_LOCK = 0x7067617465_02
ANOMALY_LEADER_LOCK = 0x7067617465_03
DAY_US = 86_400_000_000

TOTALS = """
    requests bigint NOT NULL,
    unpriced bigint NOT NULL,
    input_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    routed bigint NOT NULL,
    routed_cost_nusd bigint NOT NULL,
    routed_baseline_nusd bigint NOT NULL"""

RECORD_COLUMNS = (
    "uid", "time_us", "request_id", "project_id", "project_name", "token_id", "provider",
    "model_requested", "model_sent", "alias", "status", "latency_ms", "input_tokens",
    "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cost_usd",
    "requested_model_cost_usd", "record", "estimated_input_tokens", "cost_nusd",
    "baseline_nusd", "prompt_chunks", "response_chunks", "session_id", "findings",
)  # fmt: skip

_V1 = f"""
CREATE TABLE access_log (
    id bigserial NOT NULL,
    uid uuid NOT NULL,
    time_us bigint NOT NULL,
    request_id text NOT NULL,
    project_id text NOT NULL,
    project_name text NOT NULL,
    token_id text NOT NULL,
    provider text NOT NULL,
    model_requested text NOT NULL,
    model_sent text NOT NULL,
    alias text NOT NULL,
    status integer NOT NULL,
    latency_ms double precision NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cache_creation_input_tokens bigint NOT NULL,
    cache_read_input_tokens bigint NOT NULL,
    cost_usd text NOT NULL,
    requested_model_cost_usd text NOT NULL,
    record bytea NOT NULL,
    estimated_input_tokens bigint NOT NULL,
    cost_nusd bigint,
    baseline_nusd bigint,
    prompt_chunks bytea,
    response_chunks bytea,
    PRIMARY KEY (time_us, uid)
) PARTITION BY RANGE (time_us);
CREATE INDEX access_log_id ON access_log (id);
CREATE INDEX access_log_project_id ON access_log (project_id, id);
CREATE INDEX access_log_project_name ON access_log (project_name, id);
CREATE INDEX access_log_token ON access_log (token_id, id);
CREATE INDEX access_log_model ON access_log (model_sent, id);

CREATE TABLE body_chunk (
    digest bytea PRIMARY KEY,
    data bytea NOT NULL,
    last_us bigint NOT NULL
);
CREATE INDEX body_chunk_last ON body_chunk (last_us);

CREATE TABLE spend_hourly (
    hour_us bigint NOT NULL,
    project_id text NOT NULL,
    project_name text NOT NULL,
    token_id text NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    alias text NOT NULL,{TOTALS},
    PRIMARY KEY (hour_us, project_id, project_name, token_id, provider, model, alias)
);

CREATE TABLE webhook_delivery (
    id bigserial PRIMARY KEY,
    event_id text NOT NULL,
    event_type text NOT NULL,
    url text NOT NULL,
    secret text,
    body text NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    finished_at timestamptz,
    last_status integer,
    last_error text,
    UNIQUE (event_id, url)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE state = 'pending';
"""

# What the console filters on: the Claude Code session, alias, status, and the
# guardrail rules that found something (an array, searched with its GIN index).
_V2 = """
ALTER TABLE access_log ADD COLUMN session_id text NOT NULL DEFAULT '';
ALTER TABLE access_log ADD COLUMN findings text[] NOT NULL DEFAULT '{}';
CREATE INDEX access_log_session ON access_log (session_id, id);
CREATE INDEX access_log_alias ON access_log (alias, id);
CREATE INDEX access_log_status ON access_log (status, id);
CREATE INDEX access_log_findings ON access_log USING gin (findings);
"""

_V3 = """
CREATE TABLE cost_item (
    uid uuid NOT NULL,
    time_us bigint NOT NULL,
    dimension text NOT NULL,
    quantity bigint NOT NULL,
    cost_nusd bigint NOT NULL
) PARTITION BY RANGE (time_us);
CREATE INDEX cost_item_time ON cost_item (time_us);

CREATE TABLE spend_item_hourly (
    hour_us bigint NOT NULL,
    project_id text NOT NULL,
    project_name text NOT NULL,
    token_id text NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    alias text NOT NULL,
    dimension text NOT NULL,
    quantity bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    PRIMARY KEY (hour_us, project_id, project_name, token_id, provider, model, alias, dimension)
);
"""

# Chunks arrive zstd-compressed: PostgreSQL's own TOAST compression (pglz)
# would only spend CPU on them. A chunk row stays inline up to a page; a larger
# one goes out of line as it is. (Measured: a quarter less server time for the
# chunk INSERT at Claude Code turn sizes.)
_V4 = """
ALTER TABLE body_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE body_chunk SET (toast_tuple_target = 8160);
"""

_MIGRATIONS = {1: _V1, 2: _V2, 3: _V3, 4: _V4}
# Tables partitioned by day on `time_us`; each day has one partition of each.
PARTITIONED = ("access_log", "cost_item")

MODEL_EXPR = "CASE WHEN model_sent <> '' THEN model_sent ELSE model_requested END"
KEY_COLUMNS = f"project_id, project_name, token_id, provider, {MODEL_EXPR}, alias"
# One group's totals from the records' columns: the same rules as
# `_spend.spend_of` (and the SQLite store's SUMS); a test holds them together.
SUMS = """
    count(*),
    count(*) FILTER (WHERE cost_nusd IS NULL AND input_tokens + cache_creation_input_tokens
        + cache_read_input_tokens + output_tokens > 0),
    coalesce(sum(input_tokens), 0)::bigint,
    coalesce(sum(cache_creation_input_tokens), 0)::bigint,
    coalesce(sum(cache_read_input_tokens), 0)::bigint,
    coalesce(sum(output_tokens), 0)::bigint,
    coalesce(sum(cost_nusd), 0)::bigint,
    count(*) FILTER (WHERE alias <> '' AND cost_nusd IS NOT NULL AND baseline_nusd IS NOT NULL),
    coalesce(sum(cost_nusd) FILTER (WHERE alias <> '' AND baseline_nusd IS NOT NULL), 0)::bigint,
    coalesce(sum(baseline_nusd) FILTER (WHERE alias <> '' AND cost_nusd IS NOT NULL), 0)::bigint"""


class NewerSchema(Exception):
    """The database was migrated by a newer PromptGate."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def current_version(connection: Connection) -> int:
    """The schema version, 0 when PromptGate never migrated this database."""
    row = connection.execute("SELECT to_regclass('promptgate_schema') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    version = connection.execute("SELECT max(version) FROM promptgate_schema").fetchone()
    return int(str(version[0])) if version and version[0] is not None else 0


def migrate(connection: Connection) -> None:
    """Bring the database to SCHEMA_VERSION; safe when several instances do it at once."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        # Whoever held the lock before us may have done the work.
        version = current_version(connection)
        if version > SCHEMA_VERSION:
            raise NewerSchema(version)
        if version == 0:
            connection.execute("CREATE TABLE promptgate_schema (version integer NOT NULL)")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            connection.execute(_MIGRATIONS[step].encode())
            connection.execute("INSERT INTO promptgate_schema VALUES (%s)", (step,))
        # A table added by a later step gets partitions for the days already logged.
        ensure_partitions(connection, partitions(connection))
    today = datetime.now(UTC).date()
    ensure_partitions(connection, [today + timedelta(days=n) for n in range(3)])


def partition_name(day: date, table: str = "access_log") -> str:
    return f"{table}_p{day:%Y%m%d}"


def day_of_us(time_us: int) -> date:
    return datetime.fromtimestamp(time_us // DAY_US * 86_400, UTC).date()


def ensure_partitions(connection: Connection, days: list[date]) -> None:
    """Create the daily partitions for `days` that do not exist yet (in one transaction)."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
        for day in sorted(set(days)):
            start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
            for table in PARTITIONED:
                connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {partition_name(day, table)} PARTITION OF "
                    f"{table} FOR VALUES FROM ({start}) TO ({start + DAY_US})".encode()
                )


def partitions(connection: Connection) -> list[date]:
    """The days that have an access-log partition, oldest first."""
    rows = connection.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'access_log'::regclass"
    ).fetchall()
    days = []
    for (name,) in rows:
        stamp = str(name).removeprefix("access_log_p")
        days.append(datetime.strptime(stamp, "%Y%m%d").replace(tzinfo=UTC).date())
    return sorted(days)
