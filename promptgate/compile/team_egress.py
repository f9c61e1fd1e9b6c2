"""Compile a policy into an Envoy bootstrap for a team egress proxy in front of many clients.

The same listener, routes and clusters as ``compile_envoy``, hardened for a
shared host: the listener terminates TLS from certificate files and offers
HTTP/2 (ALPN ``h2``) next to HTTP/1.1, the processor is reached over a Unix
domain socket (no TCP port that could be reached from elsewhere on the host,
and file permissions decide who may connect), and every request leaves one
JSON access-log line. The log names the project, status, sizes and timings;
it never includes headers that carry tokens or keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config.models import Policy
from .envoy import PROCESSOR_CLUSTER, compile_envoy, processor_cluster, unix_address

_TYPE = "type.googleapis.com/envoy."
_ACCESS_LOG_FIELDS = {
    "start_time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "flags": "%RESPONSE_FLAGS%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "duration_ms": "%DURATION%",
    "upstream": "%UPSTREAM_CLUSTER%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "tls": "%DOWNSTREAM_TLS_VERSION%",
    "user_agent": "%REQ(USER-AGENT)%",
}


@dataclass(frozen=True)
class TeamEgress:
    """Where the proxy listens, finds its certificate, the processor's socket, and its log."""

    listen_host: str = "0.0.0.0"
    cert_chain: str = "/etc/promptgate/tls/tls.crt"
    private_key: str = "/etc/promptgate/tls/tls.key"
    processor_socket: str = "/run/promptgate/processor.sock"
    access_log: str = "/dev/stdout"


def _downstream_tls(settings: TeamEgress) -> dict[str, Any]:
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": _TYPE + "extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {
                        "certificate_chain": {"filename": settings.cert_chain},
                        "private_key": {"filename": settings.private_key},
                    }
                ],
            },
        },
    }


def _access_log(settings: TeamEgress) -> list[dict[str, Any]]:
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": _TYPE + "extensions.access_loggers.file.v3.FileAccessLog",
                "path": settings.access_log,
                "log_format": {"json_format": _ACCESS_LOG_FIELDS},
            },
        }
    ]


def _processor_over_socket(settings: TeamEgress) -> dict[str, Any]:
    return processor_cluster(unix_address(settings.processor_socket))


def compile_team_egress(policy: Policy, settings: TeamEgress | None = None) -> dict[str, Any]:
    """The static bootstrap of a team egress proxy for ``policy``."""
    settings = settings or TeamEgress()
    config = compile_envoy(policy)
    resources = config["static_resources"]
    listener = resources["listeners"][0]
    # Clients are other hosts; the policy's listen_host is for a local gateway.
    listener["address"]["socket_address"]["address"] = settings.listen_host
    chain = listener["filter_chains"][0]
    chain["transport_socket"] = _downstream_tls(settings)
    manager = chain["filters"][0]["typed_config"]
    manager["access_log"] = _access_log(settings)
    # Many clients multiplex over few connections; a bound keeps one client
    # from holding all of the processor's attention.
    manager["http2_protocol_options"] = {"max_concurrent_streams": 128}
    resources["clusters"] = [
        _processor_over_socket(settings) if c["name"] == PROCESSOR_CLUSTER else c
        for c in resources["clusters"]
    ]
    return config
