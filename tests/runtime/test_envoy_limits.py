"""Large bodies get a longer message timeout, and work Envoy gave up on stops."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import yaml

from promptgate.bundle import GatewaySettings
from promptgate.compile.envoy import BODY_MS_PER_MIB as COMPILED_MS_PER_MIB
from promptgate.config.models import Gateway
from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.runtime.envoy import BODY_MS_PER_MIB, ExternalProcessor, body_timeout_ms
from promptgate.runtime.exchange import Outbound
from tests.runtime.bundles import World, make_world
from tests.runtime.test_envoy import FakeStream, claude_body, process, request_body, request_headers

MIB = 1 << 20


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def test_the_message_timeout_grows_by_a_quarter_second_per_mib() -> None:
    gateway = GatewaySettings(**Gateway(processor_timeout_ms=10_000).model_dump())
    assert body_timeout_ms(gateway, 80_000) == 10_019
    assert body_timeout_ms(gateway, 30 * MIB) == 17_500
    assert COMPILED_MS_PER_MIB == BODY_MS_PER_MIB


def test_envoy_allows_the_timeout_of_the_largest_body(tmp_path: Path) -> None:
    from promptgate.compile.envoy import ext_proc_filter

    gateway = Gateway(max_request_mib=32, processor_timeout_ms=10_000)
    config = ext_proc_filter(gateway)["typed_config"]
    largest = (gateway.max_request_mib + 1) * MIB
    ceiling = float(config["max_message_timeout"].rstrip("s")) * 1000
    assert ceiling >= body_timeout_ms(GatewaySettings(**gateway.model_dump()), largest)
    assert yaml.safe_dump(config)


def test_a_large_body_first_asks_envoy_for_more_time(world: World) -> None:
    padding = "x" * (3 * MIB)
    responses = process(world, [request_headers(world), request_body(claude_body(notes=padding))])
    kinds = [r.WhichOneof("response") for r in responses]
    assert kinds == ["request_headers", None, "request_body"]
    assert responses[1].override_message_timeout.ToMilliseconds() == body_timeout_ms(
        world.bundle.gateway, len(claude_body(notes=padding))
    )


def test_a_small_body_is_answered_without_asking_for_time(world: World) -> None:
    responses = process(world, [request_headers(world), request_body(claude_body())])
    assert not any(r.HasField("override_message_timeout") for r in responses)


def test_work_on_a_body_envoy_gave_up_on_stops(world: World) -> None:
    started, stopped = threading.Event(), threading.Event()

    def slow_stage(outbound: Outbound, record: AccessLogRecord) -> None:
        started.set()
        # A long scan checks `abandoned` between parts of the body.
        if outbound.abandoned.wait(timeout=10):
            stopped.set()

    processor = ExternalProcessor(lambda: world.exchange([slow_stage]))

    async def run() -> None:
        stream = FakeStream(
            [request_headers(world), request_body(claude_body(notes="y" * 400_000))]
        )
        task = asyncio.create_task(processor.Process(iter(()), stream))  # type: ignore[arg-type]
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()  # what grpc does when Envoy resets the stream
        with pytest.raises(asyncio.CancelledError):
            await task

    began = time.monotonic()
    asyncio.run(run())
    assert stopped.wait(timeout=5)
    assert time.monotonic() - began < 5
    (record,) = world.records
    assert record.partial
