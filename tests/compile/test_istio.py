"""The istio target: the egress gateway gets run's ext_proc filter and routes, and no secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from promptgate.compile.crd_check import check_resources
from promptgate.compile.envoy import UPSTREAM_HEADER, compile_envoy
from promptgate.compile.istio import compile_istio, istio_resources, processor_cluster
from promptgate.config import validate_policy
from tests.compile.mesh_golden import CASES, check_golden, policy_of


@pytest.mark.parametrize("case", CASES)
def test_istio_resources_match_their_golden_files(case: str) -> None:
    check_golden("istio", case, compile_istio)


@pytest.mark.parametrize("case", CASES)
def test_istio_resources_pass_the_pinned_crd_schemas(case: str) -> None:
    assert check_resources(compile_istio(policy_of(case)), "out") == []


def _envoy_routes(case: str) -> dict[str, dict[str, Any]]:
    listener = compile_envoy(policy_of(case))["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    return {route["name"].removeprefix("upstream_"): route for route in routes}


def _ext_proc(case: str) -> dict[str, Any]:
    listener = compile_envoy(policy_of(case))["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    filters: dict[str, Any] = manager["http_filters"][0]
    return filters


def test_the_envoy_filter_inserts_runs_fail_closed_ext_proc_before_the_router() -> None:
    spec = istio_resources(policy_of("claude-code"))["envoyfilter.yaml"]["spec"]
    insert = spec["configPatches"][0]
    assert insert["applyTo"] == "HTTP_FILTER"
    assert insert["patch"]["operation"] == "INSERT_BEFORE"
    assert insert["match"]["listener"]["filterChain"]["filter"]["subFilter"] == {
        "name": "envoy.filters.http.router"
    }
    value = insert["patch"]["value"]
    assert value["typed_config"]["failure_mode_allow"] is False
    expected = _ext_proc("claude-code")
    expected["typed_config"]["grpc_service"]["envoy_grpc"]["cluster_name"] = processor_cluster()
    assert value == expected
    assert spec["workloadSelector"] == {"labels": {"istio": "egressgateway"}}


def test_virtual_service_routes_are_the_compiled_envoy_routes() -> None:
    resources = istio_resources(policy_of("multi-provider"))
    http = resources["virtualservice.yaml"]["spec"]["http"]
    envoy_routes = _envoy_routes("multi-provider")
    by_name = {route["name"].removeprefix("upstream-"): route for route in http}
    assert set(by_name) == {"anthropic", "lab", "openai", "not-found"}
    assert "mock" in envoy_routes  # run serves the mock; the mesh cannot reach it
    for name in ("anthropic", "lab", "openai"):
        ours, theirs = by_name[name], envoy_routes[name]
        rewrite = theirs["route"]["regex_rewrite"]
        assert ours["rewrite"]["uriRegexRewrite"] == {
            "match": rewrite["pattern"]["regex"],
            "rewrite": rewrite["substitution"],
        }
        assert ours["rewrite"]["authority"] == theirs["route"]["host_rewrite_literal"]
        assert ours["headers"]["request"]["remove"] == theirs["request_headers_to_remove"]
        assert ours["match"][0]["headers"] == {UPSTREAM_HEADER: {"exact": name}}
    # The last rule answers what the processor did not route.
    assert http[-1]["directResponse"]["status"] == 404


def test_each_tls_provider_gets_tls_origination_with_its_name_checked() -> None:
    resources = istio_resources(policy_of("multi-provider"))
    rule = resources["destinationrule-openai.yaml"]["spec"]
    tls = rule["trafficPolicy"]["portLevelSettings"][0]["tls"]
    assert rule["host"] == "api.openai.com"
    assert tls == {"mode": "SIMPLE", "sni": "api.openai.com", "subjectAltNames": ["api.openai.com"]}
    entry = resources["serviceentry-openai.yaml"]["spec"]
    assert entry["ports"] == [{"number": 443, "name": "https", "protocol": "HTTPS"}]
    # A plain-HTTP provider on an IP gets a static entry and no TLS rule.
    assert "destinationrule-lab.yaml" not in resources
    lab = resources["serviceentry-lab.yaml"]["spec"]
    assert lab["resolution"] == "STATIC"
    assert lab["endpoints"] == [{"address": "10.20.30.40"}]


def test_no_credential_reference_reaches_the_mesh_resources() -> None:
    files = compile_istio(policy_of("multi-provider"))
    for name, text in files.items():
        if name == "bundle.json":
            continue  # the processor's own input
        for secret_ref in ("OPENAI_API_KEY", "LAB_API_KEY", "/run/secrets", "api_key", "sha256:"):
            assert secret_ref not in text, (name, secret_ref)
        # No header carrying a credential is set anywhere outside the processor.
        assert "x-api-key" not in text.lower() and "bearer" not in text.lower(), name


def test_only_the_egress_gateway_may_call_the_processor() -> None:
    resources = istio_resources(policy_of("claude-code"))
    rule = resources["processor-authorizationpolicy.yaml"]["spec"]
    assert rule["action"] == "ALLOW"
    assert rule["rules"] == [
        {
            "from": [
                {
                    "source": {
                        "principals": [
                            "cluster.local/ns/istio-system/sa/istio-egressgateway-service-account"
                        ]
                    }
                }
            ],
            "to": [{"operation": {"ports": ["50051"]}}],
        }
    ]
    network = resources["processor-networkpolicy.yaml"]["spec"]
    [ingress] = network["ingress"]
    assert ingress["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
            "podSelector": {"matchLabels": {"istio": "egressgateway"}},
        }
    ]
    # The pods the policies guard are the pods the Service selects.
    service = resources["processor-service.yaml"]["spec"]["selector"]
    assert network["podSelector"]["matchLabels"] == rule["selector"]["matchLabels"] == service
    deployment = resources["processor-deployment.yaml"]["spec"]
    assert deployment["template"]["metadata"]["labels"] == service
    [container] = deployment["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "promptgate-provider-keys"}}]


def test_kustomization_lists_every_resource_and_publishes_the_bundle() -> None:
    files = compile_istio(policy_of("claude-code"))
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    expected = sorted(n for n in files if n not in {"kustomization.yaml", "bundle.json"})
    assert kustomization["resources"] == expected
    generator = kustomization["configMapGenerator"][0]
    assert generator["files"] == ["bundle.json"]
    assert generator["options"] == {"disableNameSuffixHash": True}


SHARED_PROXY = """\
apiVersion: promptgate/v1
credentials:
  a: {provider: anthropic, api_key: {env: PG_A}}
  o: {provider: openai, api_key: {env: PG_O}}
providers:
  anthropic: {base_url: "https://llm.corp.example.com/anthropic"}
  openai: {base_url: "https://llm.corp.example.com/openai/v1"}
projects:
  team:
    id: 3f0c6f1e-8a8b-4c1d-9a53-6f0e2b1d7c42
    type: agent_proxy
    providers: {anthropic: {credential: a}, openai: {credential: o}}
"""


def test_providers_behind_one_host_share_one_mesh_destination(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(SHARED_PROXY)
    result = validate_policy(tmp_path / "policy.yaml")
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    resources = istio_resources(result.policy)
    entries = [name for name in resources if name.startswith(("serviceentry", "destinationrule"))]
    assert entries == ["serviceentry-anthropic.yaml", "destinationrule-anthropic.yaml"]
    routes = resources["virtualservice.yaml"]["spec"]["http"]
    assert {r["route"][0]["destination"]["host"] for r in routes[:-1]} == {"llm.corp.example.com"}
    assert [r["rewrite"]["uriRegexRewrite"]["rewrite"] for r in routes[:-1]] == [
        "/anthropic/",
        "/openai/v1/",
    ]
    assert check_resources(compile_istio(result.policy), "out") == []
