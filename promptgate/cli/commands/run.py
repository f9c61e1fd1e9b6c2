"""``promptgate run``: compile the policy and serve it with Envoy and the processor."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ...compile import compile_policy
from ...config import validate_policy
from ...config.diagnostics import format_text
from ...supervisor import Gateway, GatewayFailed, GatewayPorts, supervise


def run(
    path: Path,
    state_dir: Path,
    port: int | None,
    host: str | None,
    out: TextIO,
    err: TextIO,
) -> int:
    result = validate_policy(path)
    if result.policy is None:
        err.write(format_text(result.diagnostics))
        err.write(f"{path}: invalid; not starting\n")
        return 1
    policy = result.policy
    overrides: dict[str, object] = {}
    if port is not None:
        overrides["listen_port"] = port
    if host is not None:
        overrides["listen_host"] = host
    if overrides:
        policy = policy.model_copy(update={"gateway": policy.gateway.model_copy(update=overrides)})
    artefacts = compile_policy(policy)
    artefacts.write(state_dir)
    gw = policy.gateway
    gateway = Gateway(
        state_dir, GatewayPorts(gw.listen_host, gw.listen_port, gw.admin_port, gw.processor_port)
    )

    def announce() -> None:
        out.write(f"PromptGate is listening on {gateway.url}  (bundle {artefacts.version[:19]})\n")
        for name, project in sorted(policy.projects.items()):
            out.write(f"  project {name}: {gateway.url}/api/{project.id}\n")
        out.write(f"  Envoy admin: {gateway.admin_url}   logs: {state_dir}/*.log\n")
        out.write("Press Ctrl-C to stop.\n")
        out.flush()

    try:
        code = supervise(gateway, announce)
    except GatewayFailed as exc:
        err.write(f"error: the gateway stopped: {exc}\n")
        return 1
    out.write("PromptGate stopped.\n")
    return code
