"""The Envoy bootstrap: accepted by the real Envoy, loopback admin, fail closed, verified TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from promptgate.compile import compile_policy
from promptgate.config import validate_policy
from promptgate.envoy_binary import validate_config

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
POLICIES = {
    "examples/ai-gateway": REPO / "examples/ai-gateway",
    "examples/claude-code": REPO / "examples/claude-code",
    "examples/multi-team": REPO / "examples/multi-team",
    "examples/quickstart.yaml": REPO / "examples/quickstart.yaml",
    "golden/multi-provider": GOLDEN / "multi-provider" / "policy",
}


def bootstrap(path: Path) -> dict[str, Any]:
    result = validate_policy(path)
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    config: dict[str, Any] = yaml.safe_load(compile_policy(result.policy).files["envoy.yaml"])
    return config


def clusters(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}


def connection_manager(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    manager: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_compiled_policy_passes_envoy_validate(name: str, tmp_path: Path) -> None:
    result = validate_policy(POLICIES[name])
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    compile_policy(result.policy).write(tmp_path)
    ok, reason = validate_config(tmp_path / "envoy.yaml")
    assert ok, reason


def test_envoy_validate_catches_a_broken_bootstrap(tmp_path: Path) -> None:
    # Guards the test above: the real binary does reject bad configuration.
    (tmp_path / "envoy.yaml").write_text("static_resources: {clusters: [{name: 1, type: NOPE}]}\n")
    ok, reason = validate_config(tmp_path / "envoy.yaml")
    assert not ok and reason


def test_admin_interface_listens_on_loopback_only() -> None:
    config = bootstrap(GOLDEN / "multi-provider" / "policy")
    assert config["admin"]["address"]["socket_address"] == {
        "address": "127.0.0.1",
        "port_value": 19901,
    }


def test_requests_fail_closed_when_the_processor_is_unavailable() -> None:
    manager = connection_manager(bootstrap(REPO / "examples/claude-code"))
    ext_proc = manager["http_filters"][0]
    assert ext_proc["name"] == "envoy.filters.http.ext_proc"
    assert ext_proc["typed_config"]["failure_mode_allow"] is False
    assert manager["http_filters"][-1]["name"] == "envoy.filters.http.router"


def test_https_providers_verify_the_certificate_for_their_host() -> None:
    config = bootstrap(GOLDEN / "multi-provider" / "policy")
    for name, host in [
        ("provider_anthropic", "llm-proxy.corp.example.com"),
        ("provider_openai", "api.openai.com"),
    ]:
        tls = clusters(config)[name]["transport_socket"]["typed_config"]
        assert tls["sni"] == host
        validation = tls["common_tls_context"]["validation_context"]
        assert validation["match_typed_subject_alt_names"] == [
            {"san_type": "DNS", "matcher": {"exact": host}}
        ]
        assert validation["trusted_ca"]["filename"] == "/etc/ssl/certs/ca-certificates.crt"


def test_plain_http_provider_at_an_ip_connects_without_tls() -> None:
    lab = clusters(bootstrap(GOLDEN / "multi-provider" / "policy"))["provider_lab"]
    assert "transport_socket" not in lab
    assert lab["type"] == "STATIC"
    endpoint = lab["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "10.20.30.40", "port_value": 8000}


def test_client_path_prefix_is_rewritten_onto_the_provider_base_path() -> None:
    routes = connection_manager(bootstrap(GOLDEN / "multi-provider" / "policy"))["route_config"][
        "virtual_hosts"
    ][0]["routes"]
    rewrites = {
        r["name"]: (r["route"]["regex_rewrite"]["pattern"]["regex"],
                    r["route"]["regex_rewrite"]["substitution"])
        for r in routes
        if "route" in r
    }  # fmt: skip
    assert rewrites == {
        "upstream_anthropic": ("^/api/[^/]+/", "/anthropic/"),
        "upstream_lab": ("^/api/[^/]+/v1/", "/openai/v1/"),
        "upstream_mock": ("^/api/[^/]+/", "/"),
        "upstream_openai": ("^/api/[^/]+/v1/", "/v1/"),
    }
    assert routes[-1]["direct_response"]["status"] == 404
