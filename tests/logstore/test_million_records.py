"""A million records: `costs` and the processor's start-up stay fast and small.

The issue's bounds: `promptgate costs` under 2 s and 200 MB, the processor
ready in under 5 s, and nothing read at all without budgets.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from promptgate.logstore import SQLiteLogStore
from promptgate.runtime.server import create_processor
from tests.logstore import million
from tests.runtime.bundles import Secrets, compile_dict, rehash, standard_policy, write_bundle

pytestmark = pytest.mark.timeout(600)

_MEASURE = """
import io, sys, time, json
t = time.perf_counter()
from promptgate.cli.commands import costs
out, err = io.StringIO(), io.StringIO()
code = costs.run(sys.argv[1], "24h", ["model", "token"], "json", out, err)
elapsed = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
status = open("/proc/self/status").read().split("VmHWM:")[1].split()
peak_mib = int(status[0]) / 1024
print(json.dumps({"code": code, "elapsed": elapsed, "peak_mib": peak_mib,
                  "report": json.loads(out.getvalue()), "err": err.getvalue()}))
"""


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("million") / "access.db"
    million.build(path)
    return path


def test_costs_over_a_million_records_answers_in_2s_and_200mb(big_store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, f"sqlite:///{big_store}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert (result["code"], result["err"]) == (0, "")
    total = result["report"]["total"]
    assert total["requests"] == 1_000_000
    assert len(result["report"]["groups"]) == 2 * million.TOKENS
    print(f"costs over 1M records: {result['elapsed']:.2f} s, peak {result['peak_mib']:.0f} MiB")
    assert result["elapsed"] < 2.0
    assert result["peak_mib"] < 200


def _processor_bundle(tmp_path: Path, store: Path, budgets: bool) -> Path:
    data = compile_dict(
        tmp_path, standard_policy(Secrets()) + f'logging: {{store: "sqlite:///{store}"}}\n'
    )
    for project in data["projects"].values():
        budget = {"scope": "token", "token": None, "period": "month", "limit_usd": "1000"}
        project["budgets"] = [budget] if budgets else []
    return write_bundle(tmp_path / "bundle.json", rehash(data))


async def _start_and_stop(bundle: Path) -> float:
    began = time.perf_counter()
    processor = create_processor(bundle, "127.0.0.1:0", with_mock=False, status_port=None)
    await processor.start()
    ready = time.perf_counter() - began
    await processor.stop(grace=0)
    return ready


def test_the_processor_reads_nothing_at_start_without_budgets(
    big_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the store was read at start-up")

    for name in ("query", "spend_totals", "spend_series", "estimate_samples"):
        monkeypatch.setattr(SQLiteLogStore, name, refuse)
    ready = asyncio.run(_start_and_stop(_processor_bundle(tmp_path, big_store, budgets=False)))
    print(f"processor ready without budgets on 1M records: {ready:.2f} s")
    assert ready < 5.0


def test_the_processor_seeds_budgets_from_totals_in_under_5s(
    big_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded: list[int] = []
    original = SQLiteLogStore.spend_by_token

    def counting(self: SQLiteLogStore, since: object) -> object:
        result = original(self, since)  # type: ignore[arg-type]
        seeded.append(len(result))
        return result

    monkeypatch.setattr(SQLiteLogStore, "spend_by_token", counting)
    ready = asyncio.run(_start_and_stop(_processor_bundle(tmp_path, big_store, budgets=True)))
    print(f"processor ready with budgets on 1M records: {ready:.2f} s")
    # Day and month windows, each a per-token sum over the whole store.
    assert seeded == [million.TOKENS, million.TOKENS]
    assert ready < 5.0
