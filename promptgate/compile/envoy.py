"""Compile a policy into Envoy configuration: a static bootstrap, or the deploy layout.

``compile_envoy`` gives one complete bootstrap (what ``promptgate compile``
writes). For a running gateway the same pieces are split: provider routes
and clusters go to filesystem xDS files in the deploy directory (shared by
every instance, hot-reloaded), while the listener, the processor cluster and
the mock provider stay in each instance's bootstrap (they name its ports).

Envoy owns the sockets and the provider connections; every request and
response passes through the ext_proc filter, which calls the PromptGate
processor. The processor chooses the upstream by setting
``x-promptgate-upstream`` and clearing the route cache; each provider has a
route keyed on that header. A request the processor never saw has no such
header of its own making, and the last route answers 404.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from ..config.models import Gateway, Policy
from .bundle import provider_entries

UPSTREAM_HEADER = "x-promptgate-upstream"
# Headers that tell who or where the client is: Envoy's own and the ones a
# client or an outer proxy may send. None of them reaches a provider.
CLIENT_ADDRESS_HEADERS = (
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "forwarded",
    "x-real-ip",
    "x-envoy-external-address",
)
PROCESSOR_CLUSTER = "promptgate_processor"
# ai_gateway rules with balance/fallbacks: the processor routes the request
# to this cluster; each attempt passes the upstream ext_proc (which picks the
# target, translates and adds the credential) and loops back through the
# internal listener onto the provider's own route.
ATTEMPTS = "promptgate_attempts"
ATTEMPT_COUNT_HEADER = "x-envoy-attempt-count"
PLAN_HEADER = "x-promptgate-plan"
ATTEMPT_STAGE = ("x-promptgate-stage", "attempt")
_TYPE = "type.googleapis.com/envoy."
_MIB = 1024 * 1024


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _should_retry(retry: bool) -> list[dict[str, Any]]:
    value = "true" if retry else "false"
    header = {"key": "x-should-retry", "value": value}
    return [{"header": header, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]


def _json_error(
    status: int, error_type: str, message: str, *, retry: bool = False
) -> dict[str, Any]:
    """A local-reply mapper answering ``status`` with a JSON error body.

    The shape ``{"type": "error", "error": {"type", "message"}}`` is
    Anthropic's and is also read correctly by OpenAI clients, which look at
    ``error.message``.
    """
    return {
        "filter": {
            "status_code_filter": {
                "comparison": {
                    "op": "EQ",
                    "value": {"default_value": status, "runtime_key": f"promptgate.reply_{status}"},
                }
            }
        },
        "headers_to_add": _should_retry(retry),
        "body_format_override": {
            "json_format": {
                "type": "error",
                "error": {"type": error_type, "message": message},
            },
            "content_type": "application/json",
        },
    }


PROCESSOR_UNAVAILABLE = "PromptGate's processor is unavailable; nothing was sent"


def _processor_failed() -> dict[str, Any]:
    """The answer when the processor is down, refuses the stream or stalls.

    Envoy's ext_proc filter answers these itself (``status_on_error``, and a
    bare 504 after ``message_timeout``); its details all start with
    ``ext_proc_error``, which sets them apart from a provider that cannot be
    reached. Clients may retry: the processor restarts or catches up.
    """
    return {
        "filter": {
            "extension_filter": {
                "name": "envoy.access_loggers.extension_filters.cel",
                "typed_config": {
                    "@type": _TYPE + "extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                    "expression": "response.code_details.startsWith('ext_proc_error')",
                },
            }
        },
        "status_code": 503,
        "headers_to_add": _should_retry(True),
        "body_format_override": {
            "json_format": {
                "type": "error",
                "error": {
                    "type": "api_error",
                    "message": PROCESSOR_UNAVAILABLE,
                },
            },
            "content_type": "application/json",
        },
    }


def path_rewrite(entry: dict[str, Any]) -> tuple[str, str]:
    """The regex and substitution that map a client's path onto ``entry``'s base path."""
    # Clients call /api/<project>/v1/...; the provider's base URL may carry a
    # path of its own (OpenAI's ends in /v1), so the rewrite maps the
    # client's prefix onto it.
    base_path = entry["base_path"].rstrip("/")
    if entry["schema"] == "openai" and base_path.endswith("/v1"):
        return r"^/api/[^/]+/v1/", base_path + "/"
    return r"^/api/[^/]+/", base_path + "/"


# The client's address (see CLIENT_ADDRESS_HEADERS), our routing header, the
# fallback plan and Envoy's attempt counter are nobody's business upstream.
HEADERS_TO_REMOVE = (
    UPSTREAM_HEADER,
    *CLIENT_ADDRESS_HEADERS,
    ATTEMPT_COUNT_HEADER,
    PLAN_HEADER,
)


def _provider_route(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    pattern, substitution = path_rewrite(entry)
    return {
        "name": f"upstream_{name}",
        "match": {
            "prefix": "/api/",
            "headers": [{"name": UPSTREAM_HEADER, "string_match": {"exact": name}}],
        },
        "request_headers_to_remove": list(HEADERS_TO_REMOVE),
        "route": {
            "cluster": entry["cluster"],
            "regex_rewrite": {
                "pattern": {"regex": pattern},
                "substitution": substitution,
            },
            "host_rewrite_literal": entry["host"],
            # Streams of a long answer may run for minutes; the provider's
            # own timeout bounds idle time instead of the whole response.
            "timeout": "0s",
            "idle_timeout": f"{int(entry['timeout_seconds'])}s",
        },
    }


def upstream_cluster(name: str, host: str, port: int, *, http2: bool = False) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STATIC" if _is_ip(host) else "LOGICAL_DNS",
        "connect_timeout": "5s",
        "dns_lookup_family": "V4_PREFERRED",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(host, port)}}]}],
        },
    }
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _TYPE + "extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return cluster


def _is_ip(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def _provider_cluster(entry: dict[str, Any], ca_file: str) -> dict[str, Any]:
    cluster = upstream_cluster(entry["cluster"], entry["host"], entry["port"])
    if entry["tls"]:
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": _TYPE + "extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": entry["host"],
                "common_tls_context": {
                    "validation_context": {
                        "trusted_ca": {"filename": ca_file},
                        "match_typed_subject_alt_names": [
                            {"san_type": "DNS", "matcher": {"exact": entry["host"]}}
                        ],
                    }
                },
            },
        }
    return cluster


def ext_proc_filter(gateway: Gateway, cluster: str = PROCESSOR_CLUSTER) -> dict[str, Any]:
    """The fail-closed ext_proc HTTP filter calling the processor behind ``cluster``."""
    timeout_ms = gateway.processor_timeout_ms
    return {
        "name": "envoy.filters.http.ext_proc",
        "typed_config": {
            "@type": _TYPE + "extensions.filters.http.ext_proc.v3.ExternalProcessor",
            "grpc_service": {
                "envoy_grpc": {
                    "cluster_name": cluster,
                    "max_receive_message_length": 2 * buffer_limit(gateway),
                },
                "timeout": f"{timeout_ms // 1000 or 1}s",
            },
            # Fail closed: if the processor is down or slow, nothing reaches
            # a provider unscanned.
            "failure_mode_allow": False,
            "status_on_error": {"code": "ServiceUnavailable"},
            "message_timeout": f"{timeout_ms / 1000:g}s",
            # The processor extends the timeout of a large body's message by
            # BODY_MS_PER_MIB per MiB (runtime/envoy.py); this is its ceiling.
            "max_message_timeout": f"{_max_message_timeout_ms(gateway) / 1000:g}s",
            "processing_mode": {
                "request_header_mode": "SEND",
                "response_header_mode": "SEND",
                "request_body_mode": "BUFFERED",
                "response_body_mode": "STREAMED",
                "request_trailer_mode": "SKIP",
                "response_trailer_mode": "SKIP",
            },
            # The processor switches JSON responses to BUFFERED in its
            # response-headers answer.
            "allow_mode_override": True,
        },
    }


# What the processor adds to `processor_timeout_ms` per MiB of request body.
BODY_MS_PER_MIB = 250


def _max_message_timeout_ms(gateway: Gateway) -> int:
    return gateway.processor_timeout_ms + BODY_MS_PER_MIB * (gateway.max_request_mib + 1)


def buffer_limit(gateway: Gateway) -> int:
    """The listener's per-connection buffer: exactly the largest request body (413 past it)."""
    return gateway.max_request_mib * _MIB


def _too_large(gateway: Gateway) -> dict[str, Any]:
    return _json_error(
        413,
        "request_too_large",
        f"Request body exceeds the gateway limit of {gateway.max_request_mib} MiB",
    )


def local_reply_config(gateway: Gateway) -> dict[str, Any]:
    """JSON errors for Envoy's own 503 and 413, for any Envoy build (a mesh's too).

    Without the CEL filter every Envoy 503 reads as the processor's.
    """
    return {
        "mappers": [
            _json_error(503, "api_error", PROCESSOR_UNAVAILABLE, retry=True),
            _too_large(gateway),
        ]
    }


def _listener_local_reply_config(gateway: Gateway) -> dict[str, Any]:
    """Our own Envoy's: processor failures (504 stalls too), unreachable provider, 413."""
    return {
        "mappers": [
            _processor_failed(),
            # Envoy's own other 503s (a provider that cannot be reached, no
            # healthy host): transient, so clients may retry.
            _json_error(503, "api_error", "PromptGate could not reach the provider", retry=True),
            _too_large(gateway),
        ]
    }


ROUTE_CONFIG_NAME = "promptgate"
# What a request no provider route matched gets: the processor never routed it.
NOT_FOUND_BODY = '{"type":"error","error":{"type":"not_found_error","message":"Not found"}}'


def route_configuration(
    providers: dict[str, dict[str, Any]], policy: Policy | None = None
) -> dict[str, Any]:
    """One route per provider, keyed on the processor's upstream header, then a 404.

    With ``policy``, also one attempts route per ai_gateway rule with
    balance or fallbacks.
    """
    routes = [_provider_route(name, entry) for name, entry in providers.items()]
    routes += attempts_routes(policy) if policy is not None else []
    routes.append(
        {
            "name": "not_found",
            "match": {"prefix": "/"},
            "direct_response": {
                "status": 404,
                "body": {"inline_string": NOT_FOUND_BODY},
            },
        }
    )
    return {
        "name": ROUTE_CONFIG_NAME,
        "virtual_hosts": [
            {
                "name": "promptgate",
                "domains": ["*"],
                "routes": routes,
                # Tells the attempt processor which target of the plan this is.
                "include_request_attempt_count": True,
            }
        ],
    }


def attempts_route_key(project_id: str, alias: str, rule: int) -> str:
    """The upstream header value of one rule's attempts route (runtime.attempts sets it)."""
    return f"{ATTEMPTS}/{project_id}/{alias}/{rule}"


def attempts_routes(policy: Policy) -> list[dict[str, Any]]:
    """Balance and fallbacks: Envoy retries, the processor re-targets every attempt.

    One route per rule, so the number of tries (its targets) and the
    first-byte timeout per try are the rule's. Envoy ignores a per-try
    timeout once the answer has started, so a long stream is never cut.
    """
    routes = []
    for project in policy.projects.values():
        if project.type != "ai_gateway":
            continue
        for alias, spec in sorted(project.aliases.items()):
            for index, rule in enumerate(spec.rules):
                if not rule.has_targets():
                    continue
                key = attempts_route_key(str(project.id), alias, index)
                routes.append(
                    {
                        "name": key,
                        "match": {
                            "prefix": "/api/",
                            "headers": [{"name": UPSTREAM_HEADER, "string_match": {"exact": key}}],
                        },
                        "route": {
                            "cluster": ATTEMPTS,
                            "timeout": "0s",
                            "idle_timeout": "600s",
                            "retry_policy": {
                                "retry_on": "5xx,reset,connect-failure,retriable-status-codes",
                                "retriable_status_codes": [429],
                                "num_retries": len(rule.balance) + len(rule.fallbacks),
                                "per_try_timeout": f"{rule.first_byte_timeout_seconds:g}s",
                                "retry_back_off": {
                                    "base_interval": "0.005s",
                                    "max_interval": "0.05s",
                                },
                            },
                        },
                    }
                )
    return routes


def attempts_cluster(gateway: Gateway) -> dict[str, Any]:
    """One internal endpoint (the attempts listener) behind an upstream ext_proc filter."""
    processor = ext_proc_filter(gateway)
    config = processor["typed_config"]
    config["grpc_service"]["initial_metadata"] = [
        {"key": ATTEMPT_STAGE[0], "value": ATTEMPT_STAGE[1]}
    ]
    config["processing_mode"] = {
        "request_header_mode": "SEND",
        "request_body_mode": "BUFFERED",
        "response_header_mode": "SEND",
        "response_body_mode": "NONE",
        "request_trailer_mode": "SKIP",
        "response_trailer_mode": "SKIP",
    }
    del config["allow_mode_override"]
    return {
        "name": ATTEMPTS,
        "type": "STATIC",
        "connect_timeout": "5s",
        # Fallback requests retry by design; Envoy's default of 3 concurrent
        # retries per cluster would fail busy gateways instead.
        "circuit_breakers": {"thresholds": [{"max_retries": 100000, "max_requests": 100000}]},
        "load_assignment": {
            "cluster_name": ATTEMPTS,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "envoy_internal_address": {"server_listener_name": ATTEMPTS}
                                }
                            }
                        }
                    ]
                }
            ],
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _TYPE + "extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": {}},
                "http_filters": [
                    processor,
                    {
                        "name": "envoy.filters.http.upstream_codec",
                        "typed_config": {
                            "@type": _TYPE + "extensions.filters.http.upstream_codec.v3."
                            "UpstreamCodec"
                        },
                    },
                ],
            }
        },
    }


def attempts_listener(gateway: Gateway, routes: dict[str, Any]) -> dict[str, Any]:
    """The internal listener each attempt loops through onto its provider's route."""
    return {
        "name": ATTEMPTS,
        "internal_listener": {},
        "per_connection_buffer_limit_bytes": buffer_limit(gateway),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": _TYPE + "extensions.filters.network.http_connection_manager."
                            "v3.HttpConnectionManager",
                            "stat_prefix": ATTEMPTS,
                            "stream_idle_timeout": "600s",
                            "request_timeout": "0s",
                            **routes,
                            "http_filters": [
                                {
                                    "name": "envoy.filters.http.router",
                                    "typed_config": {
                                        "@type": _TYPE + "extensions.filters.http.router.v3.Router",
                                        "suppress_envoy_headers": True,
                                    },
                                }
                            ],
                        },
                    }
                ]
            }
        ],
    }


INTERNAL_LISTENER_EXTENSION = {
    "name": "envoy.bootstrap.internal_listener",
    "typed_config": {"@type": _TYPE + "extensions.bootstrap.internal_listener.v3.InternalListener"},
}


def provider_clusters(providers: dict[str, dict[str, Any]], ca_file: str) -> list[dict[str, Any]]:
    return [_provider_cluster(entry, ca_file) for entry in providers.values()]


def processor_cluster(*addresses: dict[str, Any]) -> dict[str, Any]:
    """The processors' cluster: one endpoint per process, each a ``pipe`` (Unix socket) or TCP.

    Each ext_proc stream is one HTTP exchange and stays on the process it
    opened on; with several processes the least busy one takes a new stream.
    """
    cluster = upstream_cluster(PROCESSOR_CLUSTER, "127.0.0.1", 0, http2=True)
    cluster["load_assignment"]["endpoints"] = [
        {"lb_endpoints": [{"endpoint": {"address": address}} for address in addresses]}
    ]
    if any("pipe" in address for address in addresses):
        cluster.pop("dns_lookup_family")
    if len(addresses) > 1:
        cluster["lb_policy"] = "LEAST_REQUEST"
    return cluster


def unix_address(path: str) -> dict[str, Any]:
    return {"pipe": {"path": path}}


def tcp_address(host: str, port: int) -> dict[str, Any]:
    return _socket(host, port)


def listener(gateway: Gateway, routes: dict[str, Any]) -> dict[str, Any]:
    """The gateway listener; ``routes`` is an inline route config or an ``rds`` block."""
    connection_manager = {
        "@type": _TYPE + "extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager",
        "stat_prefix": "promptgate",
        "codec_type": "AUTO",
        "use_remote_address": True,
        "stream_idle_timeout": "600s",
        "request_timeout": "0s",
        "common_http_protocol_options": {"idle_timeout": "3600s"},
        # Refusing HTTP/1.0 makes Envoy close the connection without a word;
        # served like HTTP/1.1 (a Host header is optional there), it gets an answer.
        "http_protocol_options": {"accept_http_10": True, "default_host_for_http_10": "promptgate"},
        **routes,
        "local_reply_config": _listener_local_reply_config(gateway),
        "http_filters": [
            ext_proc_filter(gateway),
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": _TYPE + "extensions.filters.http.router.v3.Router",
                    "suppress_envoy_headers": True,
                },
            },
        ],
    }
    return {
        "name": "promptgate",
        "address": _socket(gateway.listen_host, gateway.listen_port),
        # Several instances on one host may share the port; the kernel
        # spreads connections between them.
        "enable_reuse_port": True,
        "per_connection_buffer_limit_bytes": buffer_limit(gateway),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": connection_manager,
                    }
                ]
            }
        ],
    }


def admin(gateway: Gateway) -> dict[str, Any]:
    return {"address": _socket("127.0.0.1", gateway.admin_port)}


def compile_envoy(policy: Policy) -> dict[str, Any]:
    """The complete static bootstrap for ``policy``, as a dict ready to dump as YAML."""
    gateway = policy.gateway
    providers = provider_entries(policy)
    routes = {"route_config": route_configuration(providers, policy)}
    return {
        "node": {"id": "promptgate", "cluster": "promptgate"},
        "admin": admin(gateway),
        "bootstrap_extensions": [INTERNAL_LISTENER_EXTENSION],
        "static_resources": {
            # Its own copy, so the YAML has no anchors.
            "listeners": [
                listener(gateway, routes),
                attempts_listener(gateway, copy.deepcopy(routes)),
            ],
            "clusters": [
                processor_cluster(tcp_address("127.0.0.1", gateway.processor_port)),
                attempts_cluster(gateway),
                *provider_clusters(providers, gateway.ca_file),
            ],
        },
    }


def render_envoy(config: dict[str, Any]) -> str:
    header = "# Generated by `promptgate compile`; edit the policy, not this file.\n"
    return header + yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=100)
