"""The console's filters (alias, session, guardrail finding, status) on both stores.

The same records go into SQLite and PostgreSQL; every filter, alone and
combined, keyset-paged, must give exactly the records a brute-force filter
keeps, newest id first, none twice.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from promptgate.logstore import LogStore, SQLiteLogStore, open_store
from promptgate.proto.access_log_pb2 import AccessLogRecord, Finding
from tests.pg import running_postgres

START = datetime(2026, 3, 1, tzinfo=UTC)
RULES = ("email", "phone", "aws-access-key")


def records(count: int = 400) -> list[AccessLogRecord]:
    rng = random.Random(5)
    made = []
    for i in range(count):
        record = AccessLogRecord(
            request_id=f"r{i}",
            project_id="p1",
            project_name="eng",
            token_id=rng.choice(("a", "b")),
            model_requested="m",
            status=rng.choice((200, 200, 429, 500)),
            alias=rng.choice(("", "", "fast")),
            session_id=rng.choice(("", "s1", "s2")),
            prompt=f"prompt {i}",
        )
        for rule in rng.sample(RULES, rng.randrange(0, 3)):
            record.guardrail_findings.append(
                Finding(rule=rule, location="messages[0]", count=1, action="redact")
            )
        record.time.FromDatetime(START + timedelta(seconds=i))
        made.append(record)
    return made


def matches(record: AccessLogRecord, wanted: dict[str, Any]) -> bool:
    rules = {f.rule for f in record.guardrail_findings}
    return (
        wanted.get("alias") in (None, record.alias)
        and wanted.get("session") in (None, record.session_id)
        and wanted.get("status") in (None, record.status)
        and (wanted.get("finding") is None or wanted["finding"] in rules)
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LogStore, list[AccessLogRecord]]]:
    written = records()
    if request.param == "sqlite":
        path = Path(tmp_path_factory.mktemp("filters")) / "log.db"
        with SQLiteLogStore(path) as writer:
            for record in written:
                writer.write(record)
        with SQLiteLogStore(path, read_only=True) as reader:
            yield reader, written
        return
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.skip("PostgreSQL is not installed (scripts/test installs it)")
    with running_postgres() as server:
        url = server.new_database()
        with open_store(url) as writer:
            for record in written:
                writer.write(record)
        with open_store(url, read_only=True) as reader:
            yield reader, written


@pytest.mark.parametrize(
    "wanted",
    [
        {"alias": "fast"},
        {"session": "s2"},
        {"finding": "email"},
        {"finding": "aws-access-key", "status": 500},
        {"alias": "fast", "session": "s1", "finding": "phone"},
        {"finding": "no-such-rule"},
    ],
)
def test_filters_page_through_exactly_the_matching_records(
    store: tuple[LogStore, list[AccessLogRecord]], wanted: dict[str, Any]
) -> None:
    reader, written = store
    everything = reader.query(bodies=False)
    assert len(everything) == len(written)
    expected = [e.record.request_id for e in reversed(everything) if matches(e.record, wanted)]
    seen: list[str] = []
    before: int | None = None
    while True:
        page = reader.query(**wanted, limit=25, before_id=before, bodies=False)
        if not page:
            break
        seen += [entry.record.request_id for entry in reversed(page)]
        before = page[0].id
    assert seen == expected
