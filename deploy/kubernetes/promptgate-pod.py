"""Pod helper for running PromptGate on Kubernetes (baked into the image by the Dockerfile).

Envoy and the processor run as separate containers of one pod; this script
does the small jobs around them (``python promptgate-pod.py SUBCOMMAND --help``):

  init    copy the compiled artefacts from the ConfigMap mount into a pod-local
          deploy directory (an emptyDir), write this pod's Envoy bootstrap and
          register the pod as an instance of that directory
  sync    keep the deploy directory in step with the ConfigMap: when the
          ConfigMap changes, roll the change out exactly as `promptgate apply`
          does (clusters widened, routes, bundle, clusters narrowed; each step
          acknowledged by this pod's Envoy and processor before the next)
  probe   exit 0 if a URL answers 200 (exec probes for loopback-only endpoints)
  alive   exit 0 if a heartbeat file was touched recently (the sync container's probe)
  drain   Envoy preStop: drain listeners gracefully, wait for in-flight requests
  await-exit  processor preStop: wait until Envoy's admin is gone, so the
          processor outlives every request Envoy still forwards

Why not let Envoy watch the ConfigMap mount directly: kubelet updates a
ConfigMap volume by swapping the ``..data`` symlink in the mount root, and the
per-instance bootstrap watches ``DIR/xds`` (a symlink into the old
``..data`` generation), so Envoy never sees the swap. Watching the mount root
would fire, but then Envoy and the processor switch at the same moment
instead of in apply's order. Copying into an emptyDir through the Rollout
keeps apply's guarantees. See docs/deploy.md.

The proposed `promptgate bootstrap` and `promptgate sync` commands replace
``init`` and ``sync``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Fixed in-pod ports and the processor's socket; the manifests use the same.
DEFAULTS = {
    "listen_host": "0.0.0.0",
    "listen_port": 8080,
    "admin_port": 9901,
    # In an emptyDir that only the processor and Envoy containers mount; the
    # processor makes `private/` 0700 (the provider keys are one ext_proc
    # stream away from whoever can connect).
    "processor_socket": "/var/run/promptgate-socket/private/ext_proc.sock",
    # Processor processes (python -m promptgate.runtime --processes N); process i>0
    # listens on ext_proc-i.sock beside the socket above. Match the container's CPUs.
    "processes": 2,
    "status_port": 9464,
    "mock_port": 8089,
    "ops_port": 9102,
}
INSTANCE = "pod"  # the one instance a pod-local deploy directory has
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."


def _read_source(source: Path) -> dict[str, str]:
    """The shared files of a ConfigMap mount, all from one generation.

    kubelet swaps ``..data`` atomically; resolving it once means a swap in
    the middle of reading cannot mix two generations.
    """
    from promptgate.deploy.directory import read_deployed

    data = source / "..data"
    return read_deployed(data.resolve() if data.exists() else source)


def ops_listener(host: str, port: int) -> dict[str, Any]:
    """A listener on the pod IP exposing only Envoy's /ready and metrics.

    Envoy's admin and the processor's status server bind loopback (the admin
    can change Envoy's state); kubelet probes and Prometheus reach the pod IP.
    """
    routes = [
        {"match": {"path": "/ready"}, "route": {"cluster": "ops_admin"}},
        {"match": {"path": "/stats/prometheus"}, "route": {"cluster": "ops_admin"}},
        {"match": {"path": "/metrics"}, "route": {"cluster": "ops_status"}},
    ]
    manager = {
        "@type": _HCM + "HttpConnectionManager",
        "stat_prefix": "ops",
        "route_config": {
            "name": "ops",
            "virtual_hosts": [{"name": "ops", "domains": ["*"], "routes": routes}],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            }
        ],
    }
    return {
        "name": "ops",
        "address": {"socket_address": {"address": host, "port_value": port}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": manager,
                    }
                ]
            }
        ],
    }


def bootstrap(deploy_dir: Path, bundle: dict[str, Any], ports: dict[str, Any]) -> str:
    """This pod's Envoy bootstrap: `promptgate run`'s instance bootstrap plus the ops listener."""
    import yaml

    from promptgate.compile.deploy import instance_bootstrap
    from promptgate.compile.envoy import upstream_cluster
    from promptgate.config.models import Gateway

    settings = Gateway.model_validate(
        {
            **bundle["gateway"],
            **{
                key: ports[key]
                for key in (
                    "listen_host",
                    "listen_port",
                    "admin_port",
                    "mock_port",
                )
            },
        }
    )
    config = yaml.safe_load(
        instance_bootstrap(deploy_dir, settings, ports["processor_socket"], ports["processes"])
    )
    static = config["static_resources"]
    static["listeners"].append(ops_listener(ports["listen_host"], ports["ops_port"]))
    static["clusters"] += [
        upstream_cluster("ops_admin", "127.0.0.1", ports["admin_port"]),
        upstream_cluster("ops_status", "127.0.0.1", ports["status_port"]),
    ]
    header = "# Generated by promptgate-pod.py init for this pod; do not edit.\n"
    return header + yaml.safe_dump(config, sort_keys=False, width=100)


def init(args: argparse.Namespace) -> int:
    from promptgate.compile import write_atomically
    from promptgate.compile.deploy import BUNDLE_FILE
    from promptgate.deploy.directory import write_file

    files = _read_source(args.source)
    if BUNDLE_FILE not in files:
        print(
            f"error: {args.source} holds no {BUNDLE_FILE}; create the ConfigMap first",
            file=sys.stderr,
        )
        return 1
    for name, text in files.items():
        write_file(args.deploy_dir, name, text)
    ports = {key: getattr(args, key) for key in DEFAULTS}
    args.bootstrap.parent.mkdir(parents=True, exist_ok=True)
    bundle = json.loads(files[BUNDLE_FILE])
    write_atomically(args.bootstrap, bootstrap(args.deploy_dir.resolve(), bundle, ports))
    registration = {
        "name": INSTANCE,
        # Not this container's hostname: the pid below lives in another
        # container's pid namespace and must not be checked from here.
        "host": "kubernetes-pod",
        "pid": 0,
        "url": f"http://127.0.0.1:{ports['listen_port']}",
        "admin_url": f"http://127.0.0.1:{ports['admin_port']}",
        "status_url": f"http://127.0.0.1:{ports['status_port']}",
    }
    write_file(args.deploy_dir, f"instances/{INSTANCE}.json", json.dumps(registration) + "\n")
    print(
        f"deploy dir {args.deploy_dir} ready (bundle {bundle['version'][:19]}); "
        f"bootstrap {args.bootstrap}"
    )
    return 0


def sync_once(source: Path, deploy_dir: Path, timeout: float) -> bool:
    """Roll the ConfigMap's files out to the pod if they differ; True if something changed."""
    from promptgate.deploy.directory import read_deployed
    from promptgate.deploy.rollout import Rollout

    new, deployed = _read_source(source), read_deployed(deploy_dir)
    if not new or new == deployed:
        return False
    Rollout(deploy_dir, timeout=timeout, log=lambda line: print(line, flush=True)).apply(
        deployed, new
    )
    version = json.loads(new["bundle.json"])["version"] if "bundle.json" in new else "?"
    print(f"serving bundle {version[:19]}", flush=True)
    return True


def sync(args: argparse.Namespace) -> int:
    from promptgate.deploy.rollout import RolloutFailed

    while True:
        try:
            sync_once(args.source, args.deploy_dir, args.timeout)
        except RolloutFailed as exc:
            # The pod keeps serving what it acknowledged last; retried next round.
            print(f"error: {exc}", file=sys.stderr, flush=True)
        except (OSError, ValueError) as exc:
            print(f"error: cannot sync: {exc}", file=sys.stderr, flush=True)
        if args.heartbeat:
            args.heartbeat.touch()
        if args.once:
            return 0
        time.sleep(args.interval)


def probe(args: argparse.Namespace) -> int:
    try:
        with urllib.request.urlopen(args.url, timeout=args.timeout) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def alive(args: argparse.Namespace) -> int:
    try:
        age = time.time() - args.file.stat().st_mtime
    except OSError:
        return 1
    return 0 if age <= args.max_age else 1


def _active_requests(admin_url: str) -> int:
    url = admin_url + "/stats?format=json&filter=^http.promptgate.downstream_rq_active$"
    with urllib.request.urlopen(url, timeout=1) as response:
        stats = json.load(response).get("stats", [])
    return sum(int(s.get("value", 0)) for s in stats if "value" in s)


def drain(args: argparse.Namespace) -> int:
    request = urllib.request.Request(
        args.admin_url + "/drain_listeners?graceful&inboundonly", method="POST"
    )
    try:
        urllib.request.urlopen(request, timeout=2).close()
    except (urllib.error.URLError, OSError):
        return 0
    # Keep accepting for a moment: endpoints controllers and kube-proxy take
    # a few seconds to stop sending new connections here.
    time.sleep(args.min_wait)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            if _active_requests(args.admin_url) == 0:
                return 0
        except (urllib.error.URLError, OSError, ValueError):
            return 0
        time.sleep(0.5)
    return 0


def await_exit(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(args.url, timeout=1).close()
        except urllib.error.HTTPError:
            pass  # still up (e.g. 503 while draining)
        except (urllib.error.URLError, OSError):
            return 0
        time.sleep(0.5)
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="promptgate-pod", description=__doc__.split("\n")[0])
    sub = main.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="Copy artefacts, write the bootstrap, register the pod.")
    p.add_argument("--source", type=Path, required=True, help="The ConfigMap mount.")
    p.add_argument("--deploy-dir", type=Path, required=True, help="The pod-local deploy dir.")
    p.add_argument("--bootstrap", type=Path, required=True, help="Where to write envoy.yaml.")
    for key, value in DEFAULTS.items():
        flag = (
            "--host"
            if key == "listen_host"
            else "--port"
            if key == "listen_port"
            else ("--" + key.replace("_", "-"))
        )
        p.add_argument(flag, dest=key, type=type(value), default=value)
    p.set_defaults(run=init)

    p = sub.add_parser("sync", help="Roll ConfigMap changes out to the pod, forever.")
    p.add_argument("--source", type=Path, required=True)
    p.add_argument("--deploy-dir", type=Path, required=True)
    p.add_argument("--interval", type=float, default=2.0, help="Seconds between checks.")
    p.add_argument("--timeout", type=float, default=60.0, help="Seconds per rollout step.")
    p.add_argument("--heartbeat", type=Path, help="Touched after every check.")
    p.add_argument("--once", action="store_true", help="Check once and exit.")
    p.set_defaults(run=sync)

    p = sub.add_parser("probe", help="Exit 0 if URL answers 200.")
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=2.0)
    p.set_defaults(run=probe)

    p = sub.add_parser("alive", help="Exit 0 if FILE was touched within --max-age seconds.")
    p.add_argument("file", type=Path)
    p.add_argument("--max-age", type=float, default=60.0)
    p.set_defaults(run=alive)

    p = sub.add_parser("drain", help="Envoy preStop: drain, then wait for in-flight requests.")
    p.add_argument("--admin-url", default=f"http://127.0.0.1:{DEFAULTS['admin_port']}")
    p.add_argument("--min-wait", type=float, default=5.0)
    p.add_argument("--timeout", type=float, default=280.0)
    p.set_defaults(run=drain)

    p = sub.add_parser("await-exit", help="Processor preStop: wait until URL stops answering.")
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=300.0)
    p.set_defaults(run=await_exit)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
