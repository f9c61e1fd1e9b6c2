"""What processes sharing one SQLite file need of it: unflushed spend and one leader."""

from __future__ import annotations

import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

from promptgate.logstore import SQLiteLogStore
from tests.logstore.test_sqlite_store import make_record


def test_spend_counts_as_unflushed_until_its_batch_commits(tmp_path: Path) -> None:
    store = SQLiteLogStore(tmp_path / "log.db")
    gate = threading.Event()
    insert = store._insert

    def held(records: list) -> None:  # type: ignore[type-arg]
        gate.wait(5)
        insert(records)

    store._writer._flush = held  # type: ignore[union-attr]
    store.write(make_record("r1", cost_usd="0.25"))
    store.write(make_record("r2", cost_usd="0.5", token_id="bob"))
    store.write(make_record("r3", cost_usd="0.1", priced=False))
    project = "0b6f3c1e-2d4a-4c8e-9f10-123456789abc"
    assert store.unflushed_spend() == {
        (project, "alice-laptop"): Decimal("0.25"),
        (project, "bob"): Decimal("0.5"),
    }
    gate.set()
    store.close()
    assert store.unflushed_spend() == {}


LEAD = """
import sys, time
from promptgate.logstore import SQLiteLogStore
store = SQLiteLogStore(sys.argv[1])
print(store.lead(7), flush=True)
time.sleep(30)
"""


def test_one_process_at_a_time_leads_and_another_takes_over_when_it_dies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.db"
    SQLiteLogStore(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", LEAD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        store = SQLiteLogStore(path)
        assert not store.lead(7)
        assert store.lead(8)  # another key is another lock
        holder.kill()
        holder.wait()
        assert store.lead(7)
        assert store.lead(7)  # held: asking again keeps it
        store.close()
    finally:
        holder.kill()
