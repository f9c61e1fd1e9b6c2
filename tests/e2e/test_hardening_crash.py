"""When the processor dies, what `promptgate run` prints holds no request content (point 5b)."""

from __future__ import annotations

import signal

import httpx
import pytest

from .conftest import GUARDED_PROJECT, MAIN_PROJECT, StartGateway

pytestmark = pytest.mark.e2e

PLANTED = "planted-crash-canary-5e1d"


def hostile_bodies() -> list[bytes]:
    """Bodies that take the processor down its ordinary and its error paths."""
    valid = (
        '{"model":"claude-sonnet-4-6","max_tokens":8,'
        f'"messages":[{{"role":"user","content":"{PLANTED}"}}]}}'
    )
    return [
        valid.encode(),
        valid.replace(PLANTED, f"{PLANTED} AKIAQYLPMN5HFIQR7XZA").encode(),
        f'{{"model":"{PLANTED}","max_tokens":8,"messages":[]}}'.encode(),
        f'{{"messages":[{{"role":"user","content":"{PLANTED}"}}],"messages":1}}'.encode(),
        ("[" * 5000 + f'"{PLANTED}"' + "]" * 5000).encode(),
        f'{{"model":"x","{PLANTED}":'.encode(),
        b'{"model":"x","messages":"\xff' + PLANTED.encode() + b'"}',
    ]


def test_the_crash_report_and_the_processor_log_hold_no_request_content(
    start_gateway: StartGateway,
) -> None:
    harness = start_gateway()
    for project, token in ((MAIN_PROJECT, "alice"), (GUARDED_PROJECT, "erin")):
        for body in hostile_bodies():
            response = httpx.post(
                f"{harness.base(project)}/v1/messages",
                content=body,
                headers={
                    "x-api-key": harness.tokens[token],
                    "content-type": "application/json",
                    f"x-{PLANTED}": PLANTED,
                },
                timeout=15,
            )
            assert response.status_code in (200, 400, 403), response.text
    assert any(PLANTED in r.body.decode() for r in harness.fake.requests)
    processor = harness.gateway.processor
    assert processor is not None
    processor.send_signal(signal.SIGKILL)
    processor.wait(timeout=10)
    report = harness.gateway.dead()
    assert report is not None and report.startswith("processor exited with code -9")
    assert "last output:" in report  # the tail is printed, and it is clean
    assert PLANTED not in report
    log = (harness.gateway.log_dir / "processor.log").read_text()
    assert PLANTED not in log
    assert PLANTED not in (harness.gateway.log_dir / "envoy.log").read_text()
