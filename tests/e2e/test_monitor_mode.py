"""Monitor mode: the provider gets a secret as sent, no log of the gateway keeps it.

A project in `secret_scanner.mode: monitor` forwards the request unchanged;
the stored prompt and response carry `[[SECRET_<RULE>]]` where the secret
was, `promptgate logs --json` shows the same, and neither the processor's
nor Envoy's log file holds the value.
"""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import pytest

from promptgate.proto.access_log_pb2 import AccessLogRecord
from promptgate.tokens import generate_token, token_hash
from tests.fakeprovider import Reply

from .conftest import Harness, StartGateway

pytestmark = pytest.mark.e2e

MARKER = "[[SECRET_AWS_ACCESS_KEY_ID]]"


def fake_aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


MONITORING_PROJECT = "c3d4e5f6-6a7b-4c8d-8e9f-1a2b3c4d5e6f"


@dataclass
class Monitoring:
    harness: Harness
    token: str


@pytest.fixture(scope="module")
def monitoring(start_gateway: StartGateway) -> Monitoring:
    """A gateway with a `monitoring` project that monitors secrets."""
    token = generate_token()
    harness = start_gateway(
        projects={
            "monitoring": {
                "id": MONITORING_PROJECT,
                "type": "agent_proxy",
                "providers": {"anthropic": {"credential": "anthropic-main"}},
                "tokens": [{"id": "mona", "hash": token_hash(token)}],
                "guardrails": {"secret_scanner": {"mode": "monitor"}},
            }
        }
    )
    return Monitoring(harness, token)


@pytest.fixture
def harness(monitoring: Monitoring) -> Iterator[Harness]:
    monitoring.harness.fake.reset()
    yield monitoring.harness
    assert monitoring.harness.gateway.dead() is None, monitoring.harness.gateway.dead()


@pytest.fixture
def client(harness: Harness, monitoring: Monitoring) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=harness.base(MONITORING_PROJECT), api_key=monitoring.token, max_retries=0
    )


def logged(harness: Harness) -> list[dict[str, object]]:
    """The project's records as `promptgate logs --json` prints them."""
    policy = str(harness.directory / "policy")
    result = subprocess.run(
        [sys.executable, "-m", "promptgate", "logs", policy, "--json", "--project", "monitoring"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def the_record(harness: Harness) -> AccessLogRecord:
    """The access-log record of the last request the provider received."""
    seen = harness.fake.requests[-1]
    return harness.records(request_id=seen.headers.get("x-request-id", ""))[0]


def gateway_logs(harness: Harness) -> str:
    return "".join(
        (harness.gateway.log_dir / name).read_text() for name in ("processor.log", "envoy.log")
    )


def tool_call(ask: str, tool: str, tool_input: dict[str, str]) -> list[dict[str, object]]:
    """A history: the user asks, the model calls `tool` with `tool_input`, the tool says ok."""
    use = {"type": "tool_use", "id": "toolu_01", "name": tool, "input": tool_input}
    result = {"type": "tool_result", "tool_use_id": "toolu_01", "content": "ok"}
    return [
        {"role": "user", "content": ask},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [result]},
    ]


def test_a_monitored_secret_reaches_the_provider_and_no_log(
    harness: Harness, client: anthropic.Anthropic
) -> None:
    key = fake_aws_key()
    harness.fake.script(Reply(text=f"Rotate {key} today."))
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=16,
        system=f"deploy key {key}",
        messages=[{"role": "user", "content": f"why does {key} fail?"}],
    )
    # The provider got the request as sent, and the client the answer as given.
    sent = harness.fake.requests[-1].json()
    assert sent["system"] == f"deploy key {key}"  # type: ignore[index]
    assert sent["messages"][0]["content"] == f"why does {key} fail?"  # type: ignore[index]
    assert message.content[0].text == f"Rotate {key} today."  # type: ignore[union-attr]

    record = the_record(harness)
    assert not record.streamed
    assert key not in record.prompt and key not in record.response
    assert f"why does {MARKER} fail?" in record.prompt
    assert f"deploy key {MARKER}" in record.prompt
    assert record.response == f"Rotate {MARKER} today."
    assert {(f.rule, f.action) for f in record.guardrail_findings} == {
        ("aws-access-key-id", "monitor")
    }
    shown = json.dumps(logged(harness))
    assert key not in shown and MARKER in shown
    assert key not in gateway_logs(harness)


def test_a_streamed_answer_and_tool_input_keep_no_monitored_secret(
    harness: Harness, client: anthropic.Anthropic
) -> None:
    key = fake_aws_key()
    # The answer arrives in small deltas that cut the key apart.
    harness.fake.script(Reply(text=f"Use {key} for the upload.", delta_sizes=(3, 5)))
    history = tool_call("set up the upload", "Bash", {"command": f"export AWS_ACCESS_KEY_ID={key}"})
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=32,
        messages=history,  # type: ignore[arg-type]
    ) as stream:
        answer = stream.get_final_text()
    assert answer == f"Use {key} for the upload."
    sent = harness.fake.requests[-1].json()
    assert sent["messages"][1]["content"][0]["input"]["command"].endswith(key)  # type: ignore[index]

    record = the_record(harness)
    assert record.streamed and not record.partial
    assert key not in record.prompt and key not in record.response
    assert MARKER in record.prompt
    assert record.response == f"Use {MARKER} for the upload."
    shown = json.dumps(logged(harness))
    assert key not in shown
    assert key not in gateway_logs(harness)


def test_a_monitored_secret_in_base64_tool_input_is_logged_as_a_marker(
    harness: Harness, client: anthropic.Anthropic
) -> None:
    key = fake_aws_key()
    data = base64.b64encode(f"[default]\naws_access_key_id = {key}\n".encode()).decode()
    harness.fake.script(Reply(text=f"Wrote {data}"))
    history = tool_call(
        "write my credentials file", "Write", {"path": "~/.aws/credentials", "data": data}
    )
    client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=16,
        messages=history,  # type: ignore[arg-type]
    )
    sent = harness.fake.requests[-1].json()
    assert sent["messages"][1]["content"][0]["input"]["data"] == data  # type: ignore[index]

    record = the_record(harness)
    # Encoded, the key would still be readable: the whole encoded text is the marker.
    assert data not in record.prompt and data not in record.response
    assert f'"data": "{MARKER}"' in record.prompt
    assert record.response == f"Wrote {MARKER}"
    shown = json.dumps(logged(harness))
    assert data not in shown and key not in shown
    assert data not in gateway_logs(harness) and key not in gateway_logs(harness)
