"""Compile a policy into Envoy Gateway resources for an existing Gateway.

- ``EnvoyExtensionPolicy`` attaches the processor as ext_proc (fail closed,
  buffered request body, streamed response body, mode override allowed) to
  PromptGate's ``HTTPRoute``;
- ``HTTPRoute`` holds the route rules of the compiled envoy.yaml: one rule
  per provider keyed on the processor's ``x-promptgate-upstream`` header, and
  a catch-all that answers 404. The catch-all matters: ext_proc runs on the
  route a request first matches, and a request without the header must still
  reach the processor so that it can choose (and clear the route cache);
- ``HTTPRouteFilter`` per provider carries the regex path rewrite and the
  host rewrite (Gateway API's own URLRewrite has no regex), one more answers
  the 404;
- ``Backend`` per provider is the FQDN endpoint with TLS (system CAs, SNI);
- the processor's ``Deployment`` and ``Service``, a ``NetworkPolicy`` that
  admits only the gateway's Envoy pods, and the bundle as a ConfigMap via
  kustomize.
"""

from __future__ import annotations

from typing import Any

from ..config.models import Policy
from ._mesh import (
    PROCESSOR_NAMESPACE,
    PROCESSOR_PORT,
    PROCESSOR_SERVICE,
    Resource,
    is_ip,
    mesh_files,
    mesh_providers,
    processor_resources,
)
from .envoy import HEADERS_TO_REMOVE, NOT_FOUND_BODY, UPSTREAM_HEADER, path_rewrite

TARGET = "envoy-gateway"
GATEWAY_NAME = "eg"
GATEWAY_NAMESPACE = "envoy-gateway-system"
ROUTE_NAME = "promptgate"
NOT_FOUND_FILTER = "promptgate-not-found"
# Where Envoy Gateway runs the gateway's Envoy pods (its controller namespace)
# and how it labels them.
PROXY_NAMESPACE = "envoy-gateway-system"
PROXY_LABELS = {
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
    "gateway.envoyproxy.io/owning-gateway-namespace": GATEWAY_NAMESPACE,
}
_EG = "gateway.envoyproxy.io"
_EG_VERSION = f"{_EG}/v1alpha1"
_GATEWAY_API = "gateway.networking.k8s.io"


def _metadata(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": PROCESSOR_NAMESPACE}


def _provider_name(provider: str) -> str:
    return f"promptgate-{provider}"


def backend(name: str, entry: dict[str, Any]) -> Resource:
    kind = "ip" if is_ip(entry["host"]) else "fqdn"
    key = "address" if kind == "ip" else "hostname"
    spec: dict[str, Any] = {"endpoints": [{kind: {key: entry["host"], "port": entry["port"]}}]}
    if entry["tls"]:
        spec["tls"] = {"sni": entry["host"], "wellKnownCACertificates": "System"}
    return {
        "apiVersion": _EG_VERSION,
        "kind": "Backend",
        "metadata": _metadata(_provider_name(name)),
        "spec": spec,
    }


def rewrite_filter(name: str, entry: dict[str, Any]) -> Resource:
    pattern, substitution = path_rewrite(entry)
    return {
        "apiVersion": _EG_VERSION,
        "kind": "HTTPRouteFilter",
        "metadata": _metadata(_provider_name(name)),
        "spec": {
            "urlRewrite": {
                "path": {
                    "type": "ReplaceRegexMatch",
                    "replaceRegexMatch": {"pattern": pattern, "substitution": substitution},
                },
                "hostname": {"type": "Backend"},
            }
        },
    }


def not_found_filter() -> Resource:
    return {
        "apiVersion": _EG_VERSION,
        "kind": "HTTPRouteFilter",
        "metadata": _metadata(NOT_FOUND_FILTER),
        "spec": {
            "directResponse": {
                "statusCode": 404,
                "contentType": "application/json",
                "body": {"type": "Inline", "inline": NOT_FOUND_BODY},
            }
        },
    }


def _extension_ref(name: str) -> dict[str, Any]:
    return {
        "type": "ExtensionRef",
        "extensionRef": {"group": _EG, "kind": "HTTPRouteFilter", "name": name},
    }


def _provider_rule(name: str) -> dict[str, Any]:
    return {
        "name": f"upstream-{name}",
        "matches": [
            {
                "path": {"type": "PathPrefix", "value": "/api/"},
                "headers": [{"type": "Exact", "name": UPSTREAM_HEADER, "value": name}],
            }
        ],
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"remove": list(HEADERS_TO_REMOVE)},
            },
            _extension_ref(_provider_name(name)),
        ],
        "backendRefs": [{"group": _EG, "kind": "Backend", "name": _provider_name(name)}],
        # Long streams: no overall deadline.
        "timeouts": {"request": "0s"},
    }


def http_route(providers: dict[str, dict[str, Any]]) -> Resource:
    rules = [_provider_rule(name) for name in providers]
    rules.append(
        {
            "name": "not-found",
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "filters": [_extension_ref(NOT_FOUND_FILTER)],
        }
    )
    return {
        "apiVersion": f"{_GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": _metadata(ROUTE_NAME),
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE}],
            "rules": rules,
        },
    }


def extension_policy(policy: Policy) -> Resource:
    return {
        "apiVersion": _EG_VERSION,
        "kind": "EnvoyExtensionPolicy",
        "metadata": _metadata("promptgate-ext-proc"),
        "spec": {
            "targetRefs": [{"group": _GATEWAY_API, "kind": "HTTPRoute", "name": ROUTE_NAME}],
            "extProc": [
                {
                    "backendRefs": [{"name": PROCESSOR_SERVICE, "port": PROCESSOR_PORT}],
                    "processingMode": {
                        "request": {"body": "Buffered"},
                        "response": {"body": "Streamed"},
                        # The processor switches JSON responses to BUFFERED.
                        "allowModeOverride": True,
                    },
                    "messageTimeout": f"{policy.gateway.processor_timeout_ms}ms",
                    # Fail closed: nothing unscanned reaches a provider.
                    "failOpen": False,
                    "statusOnError": 503,
                }
            ],
        },
    }


def envoy_gateway_resources(policy: Policy) -> dict[str, Resource]:
    """Every Envoy Gateway resource for ``policy``, by file name."""
    providers = mesh_providers(policy)
    resources = {
        "envoyextensionpolicy.yaml": extension_policy(policy),
        "httproute.yaml": http_route(providers),
        "httproutefilter-not-found.yaml": not_found_filter(),
        **processor_resources(PROXY_NAMESPACE, PROXY_LABELS),
    }
    for name, entry in providers.items():
        resources[f"backend-{name}.yaml"] = backend(name, entry)
        resources[f"httproutefilter-{name}.yaml"] = rewrite_filter(name, entry)
    return resources


def compile_envoy_gateway(policy: Policy) -> dict[str, str]:
    """The files of the ``envoy-gateway`` target, by name."""
    return mesh_files(policy, TARGET, envoy_gateway_resources(policy))
