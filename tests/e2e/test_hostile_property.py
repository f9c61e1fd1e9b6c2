"""A sample of the planted-secret property through the real gateway (block mode).

`tests/runtime/test_hostile_exchange.py` runs the property on the exchange in
every mode; here a few generated bodies go through Envoy and the processor to
the recording fake provider, and the access log is read back from the store.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from promptgate.logstore import open_store
from promptgate.proto.access_log_pb2 import AccessLogRecord
from tests.security.strategies import Planted, decoded_views, logged_views, planted_bodies

from .conftest import GUARDED_PROJECT, Harness

pytestmark = pytest.mark.e2e


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(planted=planted_bodies())
def test_a_planted_secret_reaches_neither_the_provider_nor_the_log(
    harness: Harness, planted: Planted
) -> None:
    harness.fake.reset()
    before = _erin_records(harness)
    path = "/v1/messages" if planted.schema == "anthropic" else "/v1/chat/completions"
    response = httpx.post(
        harness.base(GUARDED_PROJECT) + path,
        content=json.dumps(planted.body).encode(),
        headers={
            "authorization": f"Bearer {harness.tokens['erin']}",
            "content-type": "application/json",
        },
        timeout=30,
    )
    secret = planted.secret.value
    assert secret not in response.text
    for request in harness.fake.requests:
        assert secret not in decoded_views(request.body)
    deadline = time.monotonic() + 5
    while len(logged := _erin_records(harness)) == len(before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(logged) > len(before), "the request was not logged"
    assert secret not in logged_views("\n".join(str(record) for record in logged))


def _erin_records(harness: Harness) -> list[AccessLogRecord]:
    if not harness.store_path.exists():
        return []
    with open_store(f"sqlite:///{harness.store_path}", read_only=True) as store:
        return [e.record for e in store.query(limit=500) if e.record.token_id == "erin"]
