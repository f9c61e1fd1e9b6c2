"""Several processor processes behind one Envoy: all serve, and they share one budget."""

from __future__ import annotations

import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pytest

from promptgate.compile.envoy import PROCESSOR_CLUSTER
from promptgate.tokens import generate_token, token_hash
from tests.fakeprovider import Reply

from .conftest import MAIN_PROJECT, Harness, StartGateway

pytestmark = pytest.mark.e2e

BUDGETED = "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"


@pytest.fixture(scope="module")
def two(start_gateway: StartGateway) -> tuple[Harness, str]:
    token = generate_token()
    harness = start_gateway(
        processors=2,
        projects={
            "budgeted": {
                "id": BUDGETED,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [{"id": "spender", "hash": token_hash(token)}],
                "budgets": [{"scope": "token", "period": "day", "limit_usd": "0.01"}],
            }
        },
    )
    return harness, token


def served_per_process(harness: Harness) -> dict[str, int]:
    """Envoy's count of ext_proc streams per processor endpoint."""
    with urllib.request.urlopen(harness.gateway.admin_url + "/clusters", timeout=5) as reply:
        text = reply.read().decode()
    pattern = re.compile(rf"^{PROCESSOR_CLUSTER}::(.+)::rq_total::(\d+)$", re.MULTILINE)
    return {host: int(count) for host, count in pattern.findall(text)}


def metric_sum(harness: Harness, name: str) -> float:
    with urllib.request.urlopen(harness.gateway.status_url + "/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and f'project="{"engineering"}"' in line
    )


def test_every_process_serves_and_one_metrics_port_counts_them_all(
    two: tuple[Harness, str],
) -> None:
    harness, _ = two
    harness.fake.default = Reply(text="ok")
    client = anthropic.Anthropic(
        base_url=harness.base(MAIN_PROJECT), api_key=harness.tokens["alice"], max_retries=0
    )

    def ask(n: int) -> str:
        reply = client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=8,
            messages=[{"role": "user", "content": f"question {n}"}],
        )
        return reply.content[0].text  # type: ignore[union-attr]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(40)))
    assert answers == ["ok"] * 40
    served = served_per_process(harness)
    assert len(served) == 2, served
    assert all(count > 0 for count in served.values()), served
    assert len(harness.records(40, token_id="alice")) == 40
    assert metric_sum(harness, "promptgate_requests_total") >= 40


def test_a_budget_spent_through_one_process_stops_requests_through_the_other(
    two: tuple[Harness, str],
) -> None:
    harness, token = two
    # 3,000 input + 500 output tokens of Sonnet cost about $0.0165: over the $0.01 budget.
    harness.fake.default = Reply(text="expensive", input_tokens=3000, output_tokens=500)
    client = anthropic.Anthropic(base_url=harness.base(BUDGETED), api_key=token, max_retries=0)
    client.messages.create(
        model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    sent = len(harness.fake.requests)
    time.sleep(1.0)  # the spend reaches the file, and every process reads it
    before = served_per_process(harness)
    refused = 0
    for n in range(12):
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=8,
                messages=[{"role": "user", "content": f"again {n}"}],
            )
        refused += 1
    after = served_per_process(harness)
    # Both processes answered some of the refused requests themselves.
    assert all(after[host] > before[host] for host in after), (before, after)
    assert refused == 12 and len(harness.fake.requests) == sent
