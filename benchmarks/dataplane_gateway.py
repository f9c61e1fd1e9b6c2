"""Deploy and start a gateway for the data-plane benchmark, as `promptgate run` does.

The policy is rolled out into a deploy directory and served by one
`GatewayInstance` (Envoy + processor), like the end-to-end tests do. The
bare-Envoy bootstrap is derived from `compile_envoy(policy)`, the complete
static bootstrap `promptgate compile` writes.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from promptgate.compile.deploy import deploy_files
from promptgate.compile.envoy import compile_envoy
from promptgate.config.models import Policy
from promptgate.deploy.directory import read_deployed
from promptgate.deploy.rollout import Rollout
from promptgate.supervisor import GatewayInstance, InstancePorts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Ports:
    """The ports one gateway needs, chosen free."""

    def __init__(self) -> None:
        self.listen_host = "127.0.0.1"
        self.listen_port = free_port()
        self.admin_port = free_port()
        self.processor_port = free_port()
        self.status_port = free_port()
        self.mock_port = free_port()

    def gateway_settings(self) -> dict[str, Any]:
        return {
            "listen_port": self.listen_port,
            "admin_port": self.admin_port,
            "processor_port": self.processor_port,
            "mock_port": self.mock_port,
            "metrics_port": self.status_port,
        }


def start_gateway(policy: Policy, ports: Ports, work: Path, processors: int = 1) -> GatewayInstance:
    """A started gateway instance serving ``work/deploy``."""
    deploy = work / "deploy"
    Rollout(deploy).apply(read_deployed(deploy), deploy_files(policy))
    gateway = GatewayInstance(
        deploy,
        InstancePorts(
            ports.listen_host,
            ports.listen_port,
            ports.admin_port,
            ports.processor_port,
            ports.status_port,
            ports.mock_port,
        ),
        processors=processors,
    )
    gateway.start()
    return gateway


def bare_envoy_config(policy: Policy, listen_port: int, admin_port: int) -> dict[str, Any]:
    """The compiled bootstrap minus the processor: same listener, route rewrite and cluster."""
    config = compile_envoy(policy)
    config["admin"]["address"]["socket_address"]["port_value"] = admin_port
    listener = config["static_resources"]["listeners"][0]
    listener["address"]["socket_address"]["port_value"] = listen_port
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    manager["http_filters"] = [
        f for f in manager["http_filters"] if f["name"] != "envoy.filters.http.ext_proc"
    ]
    virtual_host = manager["route_config"]["virtual_hosts"][0]
    routes = []
    for route in virtual_host["routes"]:
        if route["name"] == "upstream_anthropic":
            # The processor's routing header never comes: route on the prefix alone.
            route["match"].pop("headers", None)
            routes.append(route)
        elif "direct_response" in route:
            routes.append(route)
    if len(routes) != 2:
        raise SystemExit("unexpected compiled route table; cannot derive the bare Envoy config")
    virtual_host["routes"] = routes
    clusters = config["static_resources"]["clusters"]
    config["static_resources"]["clusters"] = [
        c for c in clusters if c["name"] in {r["route"]["cluster"] for r in routes if "route" in r}
    ]
    return config
