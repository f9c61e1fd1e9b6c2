"""`promptgate webhooks test` against a real receiver on loopback."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

from promptgate.cli.commands.webhooks import run_test
from tests.webhooks.receiver import Receiver

EXAMPLE = Path(__file__).parents[2] / "examples" / "claude-code" / "policy.yaml"
KEY = b"an-example-key-of-32-bytes-long!"
ENV = {"PG_WEBHOOK_SECRET": "whsec_" + base64.b64encode(KEY).decode()}


def policy(tmp_path: Path, webhooks: str) -> Path:
    text = EXAMPLE.read_text()
    text = text[: text.index("\nwebhooks:")] + "\nwebhooks:\n" + webhooks
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def run(path: Path, event: str, url: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_test(path, event, url, out, err, environ=ENV)
    return code, out.getvalue(), err.getvalue()


def test_sends_a_signed_sample_to_every_subscribed_url(tmp_path: Path) -> None:
    with Receiver(KEY) as pager, Receiver(KEY) as audit, Receiver(KEY) as billing:
        path = policy(
            tmp_path,
            f"  - url: {pager.url()}\n    events: [endpoint.anomaly]\n"
            "    secret: {env: PG_WEBHOOK_SECRET}\n"
            f"  - url: {audit.url()}\n    events: [endpoint.anomaly, budget.exceeded]\n"
            f"  - url: {billing.url()}\n    events: [budget.exceeded]\n",
        )
        code, out, err = run(path, "endpoint.anomaly")

    assert (code, err) == (0, "")
    [signed], [unsigned] = pager.received, audit.received
    assert billing.received == []
    assert signed.verified and not unsigned.signed
    payload = signed.payload
    assert payload["type"] == "endpoint.anomaly" and payload["details"]["test"] is True
    assert payload["project"] == {
        "id": "3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42",
        "name": "engineering-egress",
    }
    assert f"webhooks[0] http://127.0.0.1:{pager.port}/…: endpoint.anomaly {signed.id}" in out
    assert "(signed): 200 OK" in out and "(unsigned): 200 OK" in out
    assert '{"ok":true}' in out


def test_a_failing_receiver_fails_the_command_and_shows_its_answer(tmp_path: Path) -> None:
    with Receiver(KEY, status=500) as broken:
        path = policy(tmp_path, f"  - url: {broken.url()}\n    events: [budget.exceeded]\n")
        code, out, _ = run(path, "budget.exceeded")
    assert code == 1
    assert "500 Internal Server Error" in out and "receiver says no" in out
    assert "1 of 1 receivers did not accept the sample" in out


def test_an_unreachable_receiver_fails_the_command(tmp_path: Path) -> None:
    receiver = Receiver(KEY).start()
    receiver.stop()
    path = policy(tmp_path, f"  - url: {receiver.url()}\n    events: [endpoint.anomaly]\n")
    code, out, _ = run(path, "endpoint.anomaly")
    assert code == 1 and "ConnectionRefusedError" in out


def test_url_sends_to_one_receiver_with_its_configured_secret(tmp_path: Path) -> None:
    with Receiver(KEY) as pager, Receiver(KEY) as other:
        path = policy(
            tmp_path,
            f"  - url: {pager.url()}\n    events: [endpoint.anomaly]\n"
            "    secret: {env: PG_WEBHOOK_SECRET}\n"
            f"  - url: {other.url()}\n    events: [endpoint.anomaly]\n",
        )
        code, _, _ = run(path, "endpoint.recovered", url=pager.url())
        assert other.received == []
    assert code == 0 and pager.received[0].verified
    assert pager.received[0].payload["type"] == "endpoint.recovered"


def test_a_missing_secret_is_named_not_sent(tmp_path: Path) -> None:
    path = policy(
        tmp_path,
        "  - url: http://127.0.0.1:9/hook\n    events: [endpoint.anomaly]\n"
        "    secret: {env: PG_OTHER_SECRET}\n",
    )
    code, _, err = run(path, "endpoint.anomaly")
    assert code == 1 and "{env: PG_OTHER_SECRET}: the variable is not set" in err


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("budget.exceeded", "no webhook in"),
        ("endpoint.spike", "unknown event 'endpoint.spike'"),
    ],
)
def test_nothing_to_send_is_an_error(tmp_path: Path, event: str, message: str) -> None:
    path = policy(tmp_path, "  - url: http://127.0.0.1:9/hook\n    events: [endpoint.anomaly]\n")
    code, _, err = run(path, event)
    assert code == 1 and message in err


def test_an_invalid_policy_reports_its_problems(tmp_path: Path) -> None:
    path = policy(tmp_path, "  - url: ftp://nowhere\n    events: [endpoint.anomaly]\n")
    code, _, err = run(path, "endpoint.anomaly")
    assert code == 1 and "is not a valid policy" in err and "policy.yaml:" in err
