"""The envoy-gateway target: ext_proc attached to PromptGate's HTTPRoute, routes, backends."""

from __future__ import annotations

import pytest

from promptgate.compile.crd_check import check_resources
from promptgate.compile.envoy import UPSTREAM_HEADER, compile_envoy
from promptgate.compile.envoy_gateway import compile_envoy_gateway, envoy_gateway_resources
from tests.compile.mesh_golden import CASES, check_golden, policy_of


@pytest.mark.parametrize("case", CASES)
def test_envoy_gateway_resources_match_their_golden_files(case: str) -> None:
    check_golden("envoy-gateway", case, compile_envoy_gateway)


@pytest.mark.parametrize("case", CASES)
def test_envoy_gateway_resources_pass_the_pinned_crd_schemas(case: str) -> None:
    assert check_resources(compile_envoy_gateway(policy_of(case)), "out") == []


def test_ext_proc_is_fail_closed_and_matches_runs_processing_mode() -> None:
    policy = policy_of("claude-code")
    spec = envoy_gateway_resources(policy)["envoyextensionpolicy.yaml"]["spec"]
    ext_proc = spec["extProc"][0]
    assert ext_proc["failOpen"] is False
    assert ext_proc["processingMode"] == {
        "request": {"body": "Buffered"},
        "response": {"body": "Streamed"},
        "allowModeOverride": True,
    }
    assert ext_proc["messageTimeout"] == f"{policy.gateway.processor_timeout_ms}ms"
    assert spec["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "promptgate"}
    ]


def test_route_rules_carry_the_compiled_rewrites_and_end_in_a_404() -> None:
    policy = policy_of("multi-provider")
    resources = envoy_gateway_resources(policy)
    listener = compile_envoy(policy)["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    envoy_routes = {
        r["name"].removeprefix("upstream_"): r
        for r in manager["route_config"]["virtual_hosts"][0]["routes"]
    }
    rules = resources["httproute.yaml"]["spec"]["rules"]
    assert [rule["name"] for rule in rules] == [
        "upstream-anthropic",
        "upstream-lab",
        "upstream-openai",
        "not-found",
    ]
    for rule in rules[:-1]:
        name = rule["name"].removeprefix("upstream-")
        assert rule["matches"][0]["headers"] == [
            {"type": "Exact", "name": UPSTREAM_HEADER, "value": name}
        ]
        assert (
            rule["filters"][0]["requestHeaderModifier"]["remove"]
            == (envoy_routes[name]["request_headers_to_remove"])
        )
        rewrite = resources[f"httproutefilter-{name}.yaml"]["spec"]["urlRewrite"]["path"]
        regex = envoy_routes[name]["route"]["regex_rewrite"]
        assert rewrite["replaceRegexMatch"] == {
            "pattern": regex["pattern"]["regex"],
            "substitution": regex["substitution"],
        }
    # ext_proc only runs on a matched route: the catch-all must exist for the
    # processor to see a request before it sets the upstream header.
    assert rules[-1]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    not_found = resources["httproutefilter-not-found.yaml"]["spec"]
    assert not_found["directResponse"]["statusCode"] == 404


def test_backends_use_tls_with_system_cas_except_plain_http_providers() -> None:
    resources = envoy_gateway_resources(policy_of("multi-provider"))
    openai = resources["backend-openai.yaml"]["spec"]
    assert openai["endpoints"] == [{"fqdn": {"hostname": "api.openai.com", "port": 443}}]
    assert openai["tls"] == {"sni": "api.openai.com", "wellKnownCACertificates": "System"}
    lab = resources["backend-lab.yaml"]["spec"]
    assert lab == {"endpoints": [{"ip": {"address": "10.20.30.40", "port": 8000}}]}
    assert "backend-mock.yaml" not in resources


def test_only_the_gateways_envoy_pods_may_reach_the_processor() -> None:
    resources = envoy_gateway_resources(policy_of("claude-code"))
    network = resources["processor-networkpolicy.yaml"]["spec"]
    [ingress] = network["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 50051}]
    assert ingress["from"][0]["podSelector"]["matchLabels"] == {
        "gateway.envoyproxy.io/owning-gateway-name": "eg",
        "gateway.envoyproxy.io/owning-gateway-namespace": "envoy-gateway-system",
    }
    service = resources["processor-service.yaml"]["spec"]["selector"]
    assert network["podSelector"]["matchLabels"] == service
