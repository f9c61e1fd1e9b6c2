"""`promptgate console` and `run --console`: what they open, and what they refuse."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import httpx
import yaml

from promptgate.cli.commands import console
from promptgate.compile.bundle import compile_bundle, render_bundle
from promptgate.compile.deploy import BUNDLE_FILE
from promptgate.config import validate_policy
from promptgate.logstore import SQLiteLogStore
from promptgate.tokens import generate_token
from tests.console.conftest import TOKENS, policy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deployed(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    tokens = {name: generate_token() for name in TOKENS}
    store = tmp_path / "log.db"
    SQLiteLogStore(store).close()
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy(tokens, store)))
    result = validate_policy(tmp_path / "policy.yaml")
    assert result.policy is not None
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / BUNDLE_FILE).write_text(render_bundle(compile_bundle(result.policy)))
    return deploy, tokens


def test_the_console_starts_beside_the_gateway_and_asks_for_a_token(tmp_path: Path) -> None:
    deploy, tokens = deployed(tmp_path)
    port = free_port()
    server = console.start_beside(deploy, "127.0.0.1", port, io.StringIO())
    assert server is not None
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(url + "/api/logs").status_code == 401
        signed = {"authorization": f"Bearer {tokens['admin']}"}
        assert httpx.get(url + "/api/logs", headers=signed).json()["rows"] == []
    finally:
        server.stop()


def test_a_policy_given_on_the_command_line_is_compiled_in_memory(tmp_path: Path) -> None:
    deploy, _ = deployed(tmp_path)
    made = console.build(tmp_path / "policy.yaml", tmp_path / "nowhere", None, io.StringIO())
    assert made is not None
    assert made.source.current().version.startswith("sha256:")
    made.store.close()
    assert deploy.is_dir()


def test_nothing_deployed_and_no_store_are_reported(tmp_path: Path) -> None:
    err = io.StringIO()
    assert console.build(None, tmp_path / "empty", None, err) is None
    assert "holds no deployed policy" in err.getvalue()
    deploy, _ = deployed(tmp_path)
    err = io.StringIO()
    missing = f"sqlite:///{tmp_path / 'absent.db'}"
    assert console.build(None, deploy, missing, err) is None
    assert "no access log" in err.getvalue()
