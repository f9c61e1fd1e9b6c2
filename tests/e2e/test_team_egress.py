"""A team egress proxy serving real traffic: TLS and HTTP/2 from clients, processor on a socket.

The bootstrap is compiled by ``compile_team_egress`` (what deploy/envoy/ holds),
pointed at a test CA's certificate and the fake provider; the real processor
listens on a Unix domain socket only; the anthropic SDK speaks HTTP/2 over
TLS to Envoy.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx2
import pytest
import yaml

from promptgate.compile.bundle import compile_bundle, render_bundle
from promptgate.compile.envoy import render_envoy
from promptgate.compile.team_egress import TeamEgress, compile_team_egress
from promptgate.config import validate_policy
from promptgate.supervisor import InstancePorts
from promptgate.tokens import generate_token
from tests.fakeprovider import FakeProvider, Reply

from .conftest import MAIN_PROJECT, build_policy, free_port
from .team_egress_parts import (
    CertificateAuthority,
    make_test_ca,
    start_envoy,
    start_processor,
    stop,
)

pytestmark = pytest.mark.e2e

TOKEN_NAMES = ("alice", "expired", "revoked", "admin-only", "bob", "carol", "dave", "erin", "frank")


@dataclass
class Proxy:
    url: str
    ca: CertificateAuthority
    fake: FakeProvider
    tokens: dict[str, str]
    provider_keys: dict[str, str]
    access_log: Path
    socket_path: Path
    bundle: Path
    status_port: int
    directory: Path
    processor: subprocess.Popen[bytes]

    def client(self, *, http2: bool = True) -> anthropic.Anthropic:
        http = httpx2.Client(http2=http2, verify=ssl.create_default_context(cafile=str(self.ca.ca)))
        return anthropic.Anthropic(
            base_url=f"{self.url}/api/{MAIN_PROJECT}",
            api_key=self.tokens["alice"],
            max_retries=0,
            http_client=http,
        )

    def log_lines(self) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, provider_keys: dict[str, str]
) -> Iterator[Proxy]:
    directory = tmp_path_factory.mktemp("team-egress")
    ca = make_test_ca(directory / "tls")
    fake = FakeProvider().start()
    tokens = {name: generate_token() for name in TOKEN_NAMES}
    ports = InstancePorts(
        "127.0.0.1", free_port(), free_port(), free_port(), free_port(), free_port()
    )
    policy_data = build_policy(fake.url, tokens, ports, directory / "log.db", {})
    (directory / "policy.yaml").write_text(yaml.safe_dump(policy_data, sort_keys=False))
    policy = validate_policy(directory / "policy.yaml").policy
    assert policy is not None
    # A short path (Unix socket paths are limited to about 100 bytes) in a
    # directory of its own: the processor may make its socket directory private.
    socket_path = Path(tempfile.mkdtemp(prefix="pg-egress-", dir="/tmp")) / "processor.sock"
    settings = TeamEgress(
        listen_host="127.0.0.1",
        cert_chain=str(ca.cert),
        private_key=str(ca.key),
        processor_socket=str(socket_path),
        access_log=str(directory / "access.log"),
    )
    config = directory / "envoy.yaml"
    config.write_text(render_envoy(compile_team_egress(policy, settings)))
    bundle = directory / "bundle.json"
    bundle.write_text(render_bundle(compile_bundle(policy)))
    processor = start_processor(
        bundle, f"unix:{socket_path}", ports.status_port, directory / "processor.log"
    )
    envoy = start_envoy(config, ports.admin_port, directory / "envoy.log")
    state = Proxy(
        f"https://localhost:{ports.listen_port}",
        ca,
        fake,
        tokens,
        provider_keys,
        directory / "access.log",
        socket_path,
        bundle,
        ports.status_port,
        directory,
        processor,
    )
    try:
        yield state
    finally:
        stop(envoy)
        stop(state.processor)  # a test may have replaced it
        fake.stop()


def test_claude_requests_cross_over_http2_and_tls_with_the_key_injected(proxy: Proxy) -> None:
    proxy.fake.reset()
    proxy.fake.script(Reply(text="Hello from the provider.", input_tokens=9, output_tokens=5))
    client = proxy.client()
    response = client.messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=32,
        messages=[{"role": "user", "content": "Say hello"}],
    )
    assert response.http_response.http_version == "HTTP/2"
    assert response.parse().content[0].text == "Hello from the provider."  # type: ignore[union-attr]
    seen = proxy.fake.requests[-1]
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == proxy.provider_keys["anthropic"]
    assert proxy.tokens["alice"] not in str(seen.headers)


def test_streams_arrive_whole_over_http2(proxy: Proxy) -> None:
    proxy.fake.reset()
    text = "A streamed answer, split at awkward places."
    proxy.fake.script(Reply(text=text, write_sizes=(5, 1, 40)))
    with proxy.client().messages.stream(
        model="claude-haiku-4-5",
        max_tokens=32,
        messages=[{"role": "user", "content": "stream"}],
    ) as stream:
        assert "".join(stream.text_stream) == text


def test_http1_clients_are_served_too(proxy: Proxy) -> None:
    proxy.fake.reset()
    proxy.fake.script(Reply(text="one point one"))
    response = proxy.client(http2=False).messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    assert response.http_response.http_version == "HTTP/1.1"
    assert response.parse().content[0].text == "one point one"  # type: ignore[union-attr]


def test_plaintext_and_untrusted_clients_get_nothing(proxy: Proxy) -> None:
    proxy.fake.reset()
    port = int(proxy.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /api/x/v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert b"HTTP/1.1 200" not in raw.recv(4096)
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{proxy.url}/api/{MAIN_PROJECT}/v1/models", verify=True)
    assert proxy.fake.requests == []


def test_the_access_log_has_one_line_per_request_and_no_credentials(proxy: Proxy) -> None:
    proxy.fake.reset()
    proxy.fake.script(Reply(text="logged"))
    proxy.client().messages.create(
        model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "log me"}]
    )
    rejected = proxy.client()
    rejected.api_key = "pg_live_" + "0" * 40
    with pytest.raises(anthropic.AuthenticationError):
        rejected.messages.create(
            model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    deadline = time.monotonic() + 10  # Envoy flushes its file log about once a second
    while time.monotonic() < deadline:
        lines = proxy.log_lines()
        if lines and lines[-1]["status"] == 401:
            break
        time.sleep(0.1)
    [*_, served, refused] = proxy.log_lines()
    assert (served["status"], served["protocol"], served["tls"]) == (200, "HTTP/2", "TLSv1.3")
    assert served["upstream"] == "provider_anthropic"
    assert served["request_id"] == proxy.fake.requests[-1].headers["x-request-id"]
    assert (refused["status"], refused["upstream"]) == (401, None)
    assert refused["path"] == f"/api/{MAIN_PROJECT}/v1/messages"
    text = proxy.access_log.read_text()
    for secret in (*proxy.tokens.values(), *proxy.provider_keys.values()):
        assert secret not in text


def test_only_the_socket_reaches_the_processor_and_without_it_nothing_passes(
    proxy: Proxy,
) -> None:
    assert proxy.socket_path.is_socket()
    proxy.fake.reset()
    stop(proxy.processor)
    try:
        with pytest.raises(anthropic.InternalServerError) as failure:
            proxy.client().messages.create(
                model="claude-sonnet-4-6",
                max_tokens=8,
                messages=[{"role": "user", "content": "processor is gone"}],
            )
        assert failure.value.status_code == 503
        assert proxy.fake.requests == []
    finally:
        proxy.processor = start_processor(
            proxy.bundle,
            f"unix:{proxy.socket_path}",
            proxy.status_port,
            proxy.directory / "processor.log",
        )
