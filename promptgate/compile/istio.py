"""Compile a policy into Istio resources for an existing egress gateway.

The egress gateway takes the place of ``promptgate run``'s Envoy:

- ``Gateway`` opens an HTTP server on the egress gateway for PromptGate's
  clients (``http://<egress gateway>/api/<project>/...``);
- ``EnvoyFilter`` inserts the same fail-closed ext_proc filter before the
  router of that server's listener, raises the listener's buffer limit to the
  policy's body limit, adds the JSON local replies and the per-route idle
  timeouts (fields a VirtualService cannot express);
- ``VirtualService`` holds the route rules of the compiled envoy.yaml: one per
  provider keyed on the processor's ``x-promptgate-upstream`` header, with the
  same path rewrite and header removal, then a 404;
- ``ServiceEntry`` and ``DestinationRule`` per provider make it a mesh
  destination and originate TLS to it (SNI and SAN checked);
- the processor's ``Deployment`` and ``Service``, a ``NetworkPolicy`` and an
  ``AuthorizationPolicy`` that admit only the egress gateway, and the bundle
  as a ConfigMap via kustomize.

Istio names the listener of a gateway server after the port it binds (the
gateway Service's target port, 8080 for port 80 on the stock
``istio-egressgateway``), while route configurations carry the server port:
listener patches match ``LISTENER_PORT`` and route patches ``SERVER_PORT``.
"""

from __future__ import annotations

from typing import Any

from ..config.models import Policy
from ._mesh import (
    PROCESSOR_LABELS,
    PROCESSOR_NAMESPACE,
    PROCESSOR_PORT,
    PROCESSOR_SERVICE,
    Resource,
    is_ip,
    mesh_files,
    mesh_providers,
    processor_fqdn,
    processor_resources,
)
from .envoy import (
    HEADERS_TO_REMOVE,
    NOT_FOUND_BODY,
    UPSTREAM_HEADER,
    buffer_limit,
    ext_proc_filter,
    local_reply_config,
    path_rewrite,
)

TARGET = "istio"
NAMESPACE = "istio-system"
GATEWAY_SELECTOR = {"istio": "egressgateway"}
GATEWAY_NAME = "promptgate"
# The stock egress gateway's identity (its service account in the mesh).
GATEWAY_PRINCIPAL = f"cluster.local/ns/{NAMESPACE}/sa/istio-egressgateway-service-account"
SERVER_PORT = 80
LISTENER_PORT = 8080
_NETWORKING = "networking.istio.io/v1"
_HCM = "envoy.filters.network.http_connection_manager"
_TYPE = "type.googleapis.com/envoy."


def processor_cluster() -> str:
    """The cluster name Istio gives the processor Service's gRPC port."""
    return f"outbound|{PROCESSOR_PORT}||{processor_fqdn()}"


def mesh_host(name: str, entry: dict[str, Any]) -> str:
    """The provider's name in the mesh registry; an IP address gets a made-up host name."""
    return f"promptgate-{name}.external" if is_ip(entry["host"]) else str(entry["host"])


def route_name(provider: str) -> str:
    return f"upstream-{provider}"


def _metadata(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE}


def gateway() -> Resource:
    return {
        "apiVersion": _NETWORKING,
        "kind": "Gateway",
        "metadata": _metadata(GATEWAY_NAME),
        "spec": {
            "selector": dict(GATEWAY_SELECTOR),
            "servers": [
                {
                    "port": {"number": SERVER_PORT, "name": "http-promptgate", "protocol": "HTTP"},
                    "hosts": ["*"],
                }
            ],
        },
    }


def _http_route(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    pattern, substitution = path_rewrite(entry)
    return {
        "name": route_name(name),
        "match": [
            {"uri": {"prefix": "/api/"}, "headers": {UPSTREAM_HEADER: {"exact": name}}},
        ],
        "rewrite": {
            "uriRegexRewrite": {"match": pattern, "rewrite": substitution},
            "authority": entry["host"],
        },
        "headers": {"request": {"remove": list(HEADERS_TO_REMOVE)}},
        "route": [
            {"destination": {"host": mesh_host(name, entry), "port": {"number": entry["port"]}}}
        ],
        # Long streams: no overall deadline; the EnvoyFilter sets the idle timeout.
        "timeout": "0s",
    }


def virtual_service(providers: dict[str, dict[str, Any]]) -> Resource:
    routes = [_http_route(name, entry) for name, entry in providers.items()]
    routes.append(
        {"name": "not-found", "directResponse": {"status": 404, "body": {"string": NOT_FOUND_BODY}}}
    )
    return {
        "apiVersion": _NETWORKING,
        "kind": "VirtualService",
        "metadata": _metadata(GATEWAY_NAME),
        "spec": {"hosts": ["*"], "gateways": [GATEWAY_NAME], "http": routes},
    }


def service_entry(name: str, entry: dict[str, Any]) -> Resource:
    protocol = "HTTPS" if entry["tls"] else "HTTP"
    spec: dict[str, Any] = {
        "hosts": [mesh_host(name, entry)],
        "location": "MESH_EXTERNAL",
        "resolution": "DNS",
        "ports": [{"number": entry["port"], "name": protocol.lower(), "protocol": protocol}],
    }
    if is_ip(entry["host"]):
        spec["resolution"] = "STATIC"
        spec["endpoints"] = [{"address": entry["host"]}]
    return {
        "apiVersion": _NETWORKING,
        "kind": "ServiceEntry",
        "metadata": _metadata(f"promptgate-{name}"),
        "spec": spec,
    }


def destination_rule(name: str, entry: dict[str, Any]) -> Resource:
    """TLS origination at the egress gateway: the client speaks HTTP, the provider HTTPS."""
    return {
        "apiVersion": _NETWORKING,
        "kind": "DestinationRule",
        "metadata": _metadata(f"promptgate-{name}"),
        "spec": {
            "host": mesh_host(name, entry),
            "trafficPolicy": {
                "portLevelSettings": [
                    {
                        "port": {"number": entry["port"]},
                        "tls": {
                            "mode": "SIMPLE",
                            "sni": entry["host"],
                            "subjectAltNames": [entry["host"]],
                        },
                    }
                ]
            },
        },
    }


def _listener_match(sub_filter: str | None = None) -> dict[str, Any]:
    chain: dict[str, Any] = {"filter": {"name": _HCM}}
    if sub_filter:
        chain["filter"]["subFilter"] = {"name": sub_filter}
    return {"context": "GATEWAY", "listener": {"portNumber": LISTENER_PORT, "filterChain": chain}}


def envoy_filter(policy: Policy, providers: dict[str, dict[str, Any]]) -> Resource:
    gateway_settings = policy.gateway
    hcm_type = _TYPE + "extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    patches: list[dict[str, Any]] = [
        {
            # Fail closed: nothing reaches a provider that the processor did not see.
            "applyTo": "HTTP_FILTER",
            "match": _listener_match("envoy.filters.http.router"),
            "patch": {
                "operation": "INSERT_BEFORE",
                "value": ext_proc_filter(gateway_settings, processor_cluster()),
            },
        },
        {
            "applyTo": "NETWORK_FILTER",
            "match": _listener_match(),
            "patch": {
                "operation": "MERGE",
                "value": {
                    "name": _HCM,
                    "typed_config": {
                        "@type": hcm_type,
                        "stream_idle_timeout": "600s",
                        "request_timeout": "0s",
                        "local_reply_config": local_reply_config(gateway_settings),
                    },
                },
            },
        },
        {
            "applyTo": "LISTENER",
            "match": {"context": "GATEWAY", "listener": {"portNumber": LISTENER_PORT}},
            "patch": {
                "operation": "MERGE",
                "value": {"per_connection_buffer_limit_bytes": buffer_limit(gateway_settings)},
            },
        },
    ]
    for name, entry in providers.items():
        patches.append(
            {
                "applyTo": "HTTP_ROUTE",
                "match": {
                    "context": "GATEWAY",
                    "routeConfiguration": {
                        "portNumber": SERVER_PORT,
                        "vhost": {"route": {"name": route_name(name)}},
                    },
                },
                "patch": {
                    "operation": "MERGE",
                    "value": {"route": {"idle_timeout": f"{int(entry['timeout_seconds'])}s"}},
                },
            }
        )
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": _metadata("promptgate-ext-proc"),
        "spec": {"workloadSelector": {"labels": dict(GATEWAY_SELECTOR)}, "configPatches": patches},
    }


def authorization_policy() -> Resource:
    """Only the egress gateway's identity may call the processor (it hands out provider keys).

    Enforced by the processor pod's sidecar; with mTLS a caller without the
    gateway's service account, or without mTLS at all, is refused.
    """
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": PROCESSOR_SERVICE, "namespace": PROCESSOR_NAMESPACE},
        "spec": {
            "selector": {"matchLabels": dict(PROCESSOR_LABELS)},
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": [GATEWAY_PRINCIPAL]}}],
                    "to": [{"operation": {"ports": [str(PROCESSOR_PORT)]}}],
                }
            ],
        },
    }


def istio_resources(policy: Policy) -> dict[str, Resource]:
    """Every Istio resource for ``policy``, by file name."""
    providers = mesh_providers(policy)
    resources = {
        "gateway.yaml": gateway(),
        "virtualservice.yaml": virtual_service(providers),
        "envoyfilter.yaml": envoy_filter(policy, providers),
        "processor-authorizationpolicy.yaml": authorization_policy(),
        **processor_resources(NAMESPACE, GATEWAY_SELECTOR),
    }
    # Providers behind the same host and port (a corporate LLM proxy) share
    # one mesh destination: Istio merges duplicate hosts unpredictably.
    destinations: set[tuple[str, int]] = set()
    for name, entry in providers.items():
        destination = (mesh_host(name, entry), entry["port"])
        if destination in destinations:
            continue
        destinations.add(destination)
        resources[f"serviceentry-{name}.yaml"] = service_entry(name, entry)
        if entry["tls"]:
            resources[f"destinationrule-{name}.yaml"] = destination_rule(name, entry)
    return resources


def compile_istio(policy: Policy) -> dict[str, str]:
    """The files of the ``istio`` target, by name."""
    return mesh_files(policy, TARGET, istio_resources(policy))
