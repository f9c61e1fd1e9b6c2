"""``promptgate run``: serve a policy (or a deploy directory) with Envoy and the processor."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ...bundle import BundleError, BundleSpec
from ...compile.deploy import BUNDLE_FILE, deploy_files
from ...console import ConsoleServer
from ...deploy.directory import read_deployed
from ...deploy.rollout import Rollout, RolloutFailed
from ...runtime.processes import default_processes
from ...supervisor import GatewayFailed, GatewayInstance, InstancePorts, supervise
from . import console
from ._policy import load_valid


def run(
    path: Path | None,
    deploy_dir: Path,
    ports: dict[str, int | str | None],
    out: TextIO,
    err: TextIO,
    console_port: int | None = None,
    processors: int | None = None,
) -> int:
    if path is not None:
        loaded = load_valid(path, err, "not starting")
        if loaded is None:
            return 1
        try:
            Rollout(deploy_dir).apply(read_deployed(deploy_dir), deploy_files(loaded[0]))
        except RolloutFailed as exc:
            err.write(f"error: {exc}\n")
            return 1
    bundle_path = deploy_dir / BUNDLE_FILE
    if not bundle_path.is_file():
        err.write(
            f"error: {deploy_dir} holds no deployed policy; give a policy path or apply one\n"
        )
        return 1
    try:
        bundle = BundleSpec.load(bundle_path)
    except BundleError as exc:
        err.write(f"error: {exc}\n")
        return 1
    instance = GatewayInstance(
        deploy_dir,
        InstancePorts.from_settings(bundle.gateway, **ports),
        processors=processors or default_processes(),
    )
    beside: list[ConsoleServer] = []

    def announce() -> None:
        out.write(f"PromptGate is listening on {instance.url}  (bundle {bundle.version[:19]})\n")
        for project_id, project in sorted(bundle.projects.items()):
            out.write(f"  project {project.name}: {instance.url}/api/{project_id}\n")
        out.write(
            f"  Envoy admin: {instance.admin_url}   metrics: {instance.status_url}/metrics\n"
            f"  {instance.processors} processor process(es); serving {deploy_dir}; "
            f"logs in {instance.log_dir}\n"
        )
        # The console starts once the gateway is up: the processor has made the store.
        if console_port is not None:
            host = str(ports.get("listen_host") or bundle.gateway.listen_host)
            server = console.start_beside(deploy_dir, host, console_port, err)
            if server is not None:
                beside.append(server)
                out.write(f"  console: http://{host}:{console_port}\n")
        out.write("Press Ctrl-C to stop.\n")
        out.flush()

    try:
        code = supervise(instance, announce)
    except GatewayFailed as exc:
        err.write(f"error: the gateway stopped: {exc}\n")
        return 1
    finally:
        for server in beside:
            server.stop()
    out.write("PromptGate stopped.\n")
    return code
