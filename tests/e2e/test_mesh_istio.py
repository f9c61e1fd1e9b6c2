"""The Istio target's Envoy pieces, served by a real Envoy as an egress gateway would run them.

There is no Kubernetes here. The test plays istiod: it builds the egress
gateway's listener the way Istio does for a ``Gateway`` server (an HTTP
connection manager with only the router, routes from the ``VirtualService``,
clusters named ``outbound|<port>||<host>`` from the ``ServiceEntry`` and the
processor ``Service``), then applies the compiled ``EnvoyFilter``'s patches
with Istio's operations. What reaches Envoy is exactly the generated ext_proc
filter, local replies, buffer limit and route settings. The providers point
at the fake provider behind a TLS listener (a certificate for ``localhost``
from a CA the test makes), so the DestinationRule's TLS origination, SNI and
name check are exercised; the test CA stands in for the system roots.
"""

from __future__ import annotations

import copy
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
import yaml

from promptgate.compile._mesh import PROCESSOR_PORT, processor_fqdn
from promptgate.compile.bundle import compile_bundle, render_bundle
from promptgate.compile.envoy import render_envoy, upstream_cluster
from promptgate.compile.istio import istio_resources
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

_HCM = "envoy.filters.network.http_connection_manager"
_TYPE = "type.googleapis.com/envoy."
TOKEN_NAMES = ("alice", "expired", "revoked", "admin-only", "bob", "carol", "dave", "erin", "frank")


def _merge(into: dict[str, Any], value: dict[str, Any]) -> None:
    """Protobuf merge as Istio's MERGE does it: messages recursively, lists appended."""
    for key, item in value.items():
        if isinstance(item, dict) and isinstance(into.get(key), dict):
            _merge(into[key], item)
        elif isinstance(item, list) and isinstance(into.get(key), list):
            into[key].extend(item)
        else:
            into[key] = item


def _route(http: dict[str, Any]) -> dict[str, Any]:
    """One VirtualService HTTP route as istiod translates it."""
    if "directResponse" in http:
        answer = http["directResponse"]
        return {
            "name": http["name"],
            "match": {"prefix": "/"},
            "direct_response": {
                "status": answer["status"],
                "body": {"inline_string": answer["body"]["string"]},
            },
        }
    [match] = http["match"]
    [destination] = http["route"]
    target = destination["destination"]
    rewrite = http["rewrite"]
    return {
        "name": http["name"],
        "match": {
            "prefix": match["uri"]["prefix"],
            "headers": [
                {"name": name, "string_match": {"exact": rule["exact"]}}
                for name, rule in match["headers"].items()
            ],
        },
        "request_headers_to_remove": http["headers"]["request"]["remove"],
        "route": {
            "cluster": f"outbound|{target['port']['number']}||{target['host']}",
            "regex_rewrite": {
                "pattern": {"regex": rewrite["uriRegexRewrite"]["match"]},
                "substitution": rewrite["uriRegexRewrite"]["rewrite"],
            },
            "host_rewrite_literal": rewrite["authority"],
            "timeout": http["timeout"],
        },
    }


def _tls_origination(rule: dict[str, Any], ca_file: str) -> dict[str, Any]:
    """A DestinationRule's SIMPLE TLS as istiod writes it; ``ca_file`` stands in for the roots."""
    [settings] = rule["trafficPolicy"]["portLevelSettings"]
    tls = settings["tls"]
    assert tls["mode"] == "SIMPLE"
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": _TYPE + "extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": tls["sni"],
            "common_tls_context": {
                "validation_context": {
                    "trusted_ca": {"filename": ca_file},
                    "match_typed_subject_alt_names": [
                        {"san_type": "DNS", "matcher": {"exact": name}}
                        for name in tls["subjectAltNames"]
                    ],
                }
            },
        },
    }


def _clusters(resources: dict[str, Any], processor_port: int, ca_file: str) -> list[dict[str, Any]]:
    processor = upstream_cluster(
        f"outbound|{PROCESSOR_PORT}||{processor_fqdn()}", "127.0.0.1", processor_port, http2=True
    )
    clusters = [processor]
    rules = {
        r["spec"]["host"]: r["spec"] for r in resources.values() if r["kind"] == "DestinationRule"
    }
    for resource in resources.values():
        if resource["kind"] != "ServiceEntry":
            continue
        spec = resource["spec"]
        [host] = spec["hosts"]
        [port] = spec["ports"]
        address = spec["endpoints"][0]["address"] if spec["resolution"] == "STATIC" else host
        cluster = upstream_cluster(f"outbound|{port['number']}||{host}", address, port["number"])
        if host in rules:
            cluster["transport_socket"] = _tls_origination(rules[host], ca_file)
        clusters.append(cluster)
    return clusters


def _tls_front(port: int, upstream_port: int, ca: CertificateAuthority) -> tuple[Any, Any]:
    """A TLS listener in front of the plain-HTTP fake provider: what a real provider looks like."""
    listener = {
        "name": "fake_provider_tls",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [
            {
                "transport_socket": {
                    "name": "envoy.transport_sockets.tls",
                    "typed_config": {
                        "@type": _TYPE + "extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                        "common_tls_context": {
                            "tls_certificates": [
                                {
                                    "certificate_chain": {"filename": str(ca.cert)},
                                    "private_key": {"filename": str(ca.key)},
                                }
                            ]
                        },
                    },
                },
                "filters": [
                    {
                        "name": "envoy.filters.network.tcp_proxy",
                        "typed_config": {
                            "@type": _TYPE + "extensions.filters.network.tcp_proxy.v3.TcpProxy",
                            "stat_prefix": "fake_provider",
                            "cluster": "fake_provider",
                        },
                    }
                ],
            }
        ],
    }
    return listener, upstream_cluster("fake_provider", "127.0.0.1", upstream_port)


def istio_gateway_bootstrap(
    resources: dict[str, Any], ports: InstancePorts, ca: CertificateAuthority
) -> dict[str, Any]:
    """The egress gateway's Envoy config for ``resources``, with the EnvoyFilter applied."""
    routes = [_route(http) for http in resources["virtualservice.yaml"]["spec"]["http"]]
    manager: dict[str, Any] = {
        "@type": _TYPE + "extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager",
        "stat_prefix": "outbound_0.0.0.0_8080",
        "codec_type": "AUTO",
        "route_config": {
            "name": "http.80",
            "virtual_hosts": [{"name": "*:80", "domains": ["*"], "routes": routes}],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": _TYPE + "extensions.filters.http.router.v3.Router"},
            }
        ],
    }
    listener: dict[str, Any] = {
        "name": "0.0.0.0_8080",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": ports.listen_port}},
        "filter_chains": [{"filters": [{"name": _HCM, "typed_config": manager}]}],
    }
    for patch in resources["envoyfilter.yaml"]["spec"]["configPatches"]:
        apply_to, operation = patch["applyTo"], patch["patch"]["operation"]
        value = patch["patch"]["value"]
        if (apply_to, operation) == ("LISTENER", "MERGE"):
            _merge(listener, value)
        elif (apply_to, operation) == ("NETWORK_FILTER", "MERGE"):
            assert value["name"] == _HCM
            _merge(manager, {k: v for k, v in value["typed_config"].items() if k != "@type"})
        elif (apply_to, operation) == ("HTTP_FILTER", "INSERT_BEFORE"):
            sub_filter = patch["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"]
            names = [f["name"] for f in manager["http_filters"]]
            manager["http_filters"].insert(names.index(sub_filter), value)
        elif (apply_to, operation) == ("HTTP_ROUTE", "MERGE"):
            name = patch["match"]["routeConfiguration"]["vhost"]["route"]["name"]
            [route] = [r for r in routes if r["name"] == name]
            _merge(route, value)
        else:
            raise AssertionError(f"the test does not know how Istio applies {apply_to} {operation}")
    return {
        "node": {"id": "istio-egressgateway", "cluster": "istio-egressgateway"},
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": ports.admin_port}}
        },
        "static_resources": {
            "listeners": [listener],
            "clusters": _clusters(resources, ports.processor_port, str(ca.ca)),
        },
    }


@dataclass
class Egress:
    url: str
    fake: FakeProvider
    tokens: dict[str, str]
    provider_keys: dict[str, str]
    config: dict[str, Any]
    bundle: Path
    processor_port: int
    status_port: int
    admin_port: int
    directory: Path
    processor: subprocess.Popen[bytes]

    def client(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=f"{self.url}/api/{MAIN_PROJECT}",
            api_key=self.tokens["alice"],
            max_retries=0,
        )


@pytest.fixture(scope="module")
def egress(
    tmp_path_factory: pytest.TempPathFactory, provider_keys: dict[str, str]
) -> Iterator[Egress]:
    directory = tmp_path_factory.mktemp("istio")
    fake = FakeProvider().start()
    tokens = {name: generate_token() for name in TOKEN_NAMES}
    ports = InstancePorts(
        "127.0.0.1", free_port(), free_port(), free_port(), free_port(), free_port()
    )
    ca = make_test_ca(directory / "tls")
    tls_port = free_port()
    provider_url = f"https://localhost:{tls_port}"
    policy_data = build_policy(provider_url, tokens, ports, directory / "log.db", {})
    (directory / "policy.yaml").write_text(yaml.safe_dump(policy_data, sort_keys=False))
    policy = validate_policy(directory / "policy.yaml").policy
    assert policy is not None
    config = istio_gateway_bootstrap(istio_resources(policy), ports, ca)
    front_listener, front_cluster = _tls_front(tls_port, fake.port, ca)
    served = copy.deepcopy(config)
    served["static_resources"]["listeners"].append(front_listener)
    served["static_resources"]["clusters"].append(front_cluster)
    (directory / "envoy.yaml").write_text(render_envoy(served))
    bundle = directory / "bundle.json"
    bundle.write_text(render_bundle(compile_bundle(policy)))
    listen = f"127.0.0.1:{ports.processor_port}"
    processor = start_processor(bundle, listen, ports.status_port, directory / "processor.log")
    envoy = start_envoy(directory / "envoy.yaml", ports.admin_port, directory / "envoy.log")
    state = Egress(
        f"http://127.0.0.1:{ports.listen_port}",
        fake,
        tokens,
        provider_keys,
        config,
        bundle,
        ports.processor_port,
        ports.status_port,
        ports.admin_port,
        directory,
        processor,
    )
    try:
        yield state
    finally:
        stop(envoy)
        stop(state.processor)  # a test may have replaced it
        fake.stop()


def test_the_patched_gateway_has_ext_proc_before_the_router(egress: Egress) -> None:
    listener = egress.config["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert [f["name"] for f in manager["http_filters"]] == [
        "envoy.filters.http.ext_proc",
        "envoy.filters.http.router",
    ]
    # The body limit is exact (max_request_mib, 32 MiB by default): 413 one byte past it.
    assert listener["per_connection_buffer_limit_bytes"] == 32 * 1024 * 1024


def test_a_message_goes_through_the_egress_gateway_with_the_real_key(egress: Egress) -> None:
    egress.fake.reset()
    egress.fake.script(Reply(text="Through the mesh.", input_tokens=11, output_tokens=4))
    message = egress.client().messages.create(
        model="claude-sonnet-4-6",
        max_tokens=32,
        messages=[{"role": "user", "content": "Say hello"}],
    )
    assert message.content[0].text == "Through the mesh."  # type: ignore[union-attr]
    seen = egress.fake.requests[-1]
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == egress.provider_keys["anthropic"]
    assert egress.tokens["alice"] not in str(seen.headers)
    assert "x-promptgate-upstream" not in seen.headers
    assert "x-forwarded-for" not in seen.headers


def test_the_gateway_originates_tls_to_the_provider_and_checks_its_name(egress: Egress) -> None:
    egress.fake.reset()
    egress.fake.script(Reply(text="over TLS"))
    egress.client().messages.create(
        model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "tls"}]
    )
    url = f"http://127.0.0.1:{egress.admin_port}/stats?filter=ssl.handshake"
    stats = urllib.request.urlopen(url, timeout=5).read().decode()
    handshakes = {
        line.split(": ")[0]: int(line.split(": ")[1]) for line in stats.splitlines() if line
    }
    upstream = [k for k in handshakes if k.startswith("cluster.outbound|") and "localhost" in k]
    assert upstream and all(handshakes[k] > 0 for k in upstream), handshakes
    cluster = next(
        c for c in egress.config["static_resources"]["clusters"] if "localhost" in c["name"]
    )
    tls = cluster["transport_socket"]["typed_config"]
    assert tls["sni"] == "localhost"
    assert tls["common_tls_context"]["validation_context"]["match_typed_subject_alt_names"] == [
        {"san_type": "DNS", "matcher": {"exact": "localhost"}}
    ]


def test_a_stream_arrives_whole_through_the_egress_gateway(egress: Egress) -> None:
    egress.fake.reset()
    text = "Streamed through the patched gateway."
    egress.fake.script(Reply(text=text, write_sizes=(3, 1, 50)))
    with egress.client().messages.stream(
        model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        assert "".join(stream.text_stream) == text


def test_a_bad_token_or_an_unrouted_path_never_reaches_the_provider(egress: Egress) -> None:
    egress.fake.reset()
    client = egress.client()
    client.api_key = "pg_live_" + "1" * 40
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    # A client that names the upstream itself is overruled by the processor.
    request = urllib.request.Request(
        f"{egress.url}/elsewhere", headers={"x-promptgate-upstream": "anthropic"}
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)
    # A path outside /api/<uuid>/ gets the processor's 400 ("set the base URL to ...").
    assert failure.value.code == 400
    assert egress.fake.requests == []


def test_without_the_processor_the_gateway_fails_closed(egress: Egress) -> None:
    egress.fake.reset()
    stop(egress.processor)
    try:
        with pytest.raises(anthropic.APIStatusError) as failure:
            egress.client().messages.create(
                model="claude-sonnet-4-6",
                max_tokens=8,
                messages=[{"role": "user", "content": "processor is gone"}],
            )
        assert failure.value.status_code == 503
        assert "nothing was sent" in str(failure.value)
        assert egress.fake.requests == []
    finally:
        egress.processor = start_processor(
            egress.bundle,
            f"127.0.0.1:{egress.processor_port}",
            egress.status_port,
            egress.directory / "processor.log",
        )
