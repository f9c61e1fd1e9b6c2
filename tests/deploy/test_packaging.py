"""The packaging stays in step with the code: Kubernetes manifests, CI workflow, dashboard.

Static checks parse every artefact and compare what it uses (flags, ports,
paths, metric names) with what the code defines. The e2e test runs the
Deployment's own commands (init, processor, Envoy, sync) against a simulated
ConfigMap volume and rolls a ConfigMap update out through them.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
import yaml

from promptgate.cli.app import app
from promptgate.compile.deploy import BUNDLE_FILE, CLUSTERS_FILE, ROUTES_FILE, xds_version
from promptgate.envoy_binary import find_envoy

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "promptgate-dashboard.json"
METRICS = ROOT / "promptgate" / "runtime" / "metrics.py"
POD_HELPER = K8S / "promptgate-pod.py"
IMAGE_HELPER = "/opt/promptgate/promptgate-pod.py"

# ---------------------------------------------------------------- helpers


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    return docs


def one(kind: str) -> dict[str, Any]:
    found = [doc for doc in manifests() if doc.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = one("Deployment")["spec"]["template"]["spec"]
    return spec


def container(name: str) -> dict[str, Any]:
    spec = pod_spec()
    for entry in spec["containers"] + spec.get("initContainers", []):
        if entry["name"] == name:
            return dict(entry)
    raise AssertionError(f"no container {name!r}")


def flag(argv: list[str], name: str) -> str:
    assert name in argv, f"{name} missing from {argv}"
    return argv[argv.index(name) + 1]


def load_pod_helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("promptgate_pod", POD_HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def helper_commands() -> list[list[str]]:
    """Every argv in the Deployment that runs the pod helper (commands, probes, hooks)."""
    found: list[list[str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            if len(node) > 1 and node[1] == IMAGE_HELPER:
                found.append([str(part) for part in node])
            for value in node:
                walk(value)

    walk(pod_spec())
    return found


def cli_options(command: str) -> set[str]:
    group: Any = typer.main.get_command(app)
    sub = group.commands[command]
    return {opt for param in sub.params for opt in param.opts if opt.startswith("-")}


def port_of(url: str) -> int:
    match = re.search(r":(\d+)(/|$)", url)
    assert match, url
    return int(match.group(1))


# ---------------------------------------------------------------- manifests


def test_every_manifest_parses_and_names_its_kind() -> None:
    files = sorted(K8S.glob("*.yaml"))
    assert files
    for path in files:
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        assert docs, f"{path.name} is empty"
        for doc in docs:
            assert doc.get("kind") and doc.get("apiVersion"), path.name


def test_kustomization_lists_existing_manifests_and_no_secrets() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    for name in resources:
        assert (K8S / name).is_file(), name
    kinds = {
        doc["kind"] for name in resources for doc in yaml.safe_load_all((K8S / name).read_text())
    }
    assert {"Deployment", "Service", "PodDisruptionBudget"} <= kinds
    assert "Secret" not in kinds, "real keys never go through Git"
    unlisted = {p.name for p in K8S.glob("*.yaml")} - set(resources) - {"kustomization.yaml"}
    assert all(".example." in name for name in unlisted), unlisted


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(built.stdout) if doc]
    assert "Deployment" in kinds and "Service" in kinds


def test_deployment_runs_three_replicas_of_processor_and_envoy() -> None:
    deployment = one("Deployment")
    assert deployment["spec"]["replicas"] == 3
    names = [c["name"] for c in pod_spec()["containers"]]
    assert {"processor", "envoy"} <= set(names)
    assert container("processor")["command"][:3] == ["python", "-m", "promptgate.runtime"]
    assert container("envoy")["command"][0] == "envoy"


def test_every_container_has_probes_resources_and_a_locked_down_context() -> None:
    spec = pod_spec()
    security = spec["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    for entry in spec["containers"]:
        name = entry["name"]
        assert "readinessProbe" in entry, f"{name}: no readiness probe"
        assert "livenessProbe" in entry, f"{name}: no liveness probe"
    for entry in spec["containers"] + spec.get("initContainers", []):
        name = entry["name"]
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(entry["resources"][part]), f"{name}: {part}"
        context = entry["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"]["drop"] == ["ALL"], name


def test_writable_paths_are_empty_dirs() -> None:
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    processor = container("processor")
    mounts = {m["mountPath"]: m["name"] for m in processor["volumeMounts"]}
    # The SQLite log store lands in the working directory, which must be an emptyDir.
    assert "emptyDir" in volumes[mounts[processor["workingDir"]]]


def test_credentials_come_from_a_secret_and_only_to_the_processor() -> None:
    processor = container("processor")
    assert any("secretRef" in source for source in processor.get("envFrom", []))
    for entry in pod_spec()["containers"]:
        if entry["name"] != "processor":
            assert "envFrom" not in entry and "env" not in entry, entry["name"]


def test_processor_flags_exist() -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "promptgate.runtime", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    argv = container("processor")["command"]
    used = [part for part in argv[3:] if part.startswith("--")]
    assert used
    for option in used:
        assert re.search(rf"(^|\s|\[){re.escape(option)}\b", helped), f"unknown flag {option}"


def test_envoy_flags_exist() -> None:
    helped = subprocess.run([find_envoy(), "--help"], capture_output=True, text=True, check=False)
    text = helped.stdout + helped.stderr
    for option in container("envoy")["command"][1:]:
        if option.startswith("-"):
            assert re.search(rf"(^|\s|,){re.escape(option)}\b", text), f"unknown flag {option}"


def test_pod_helper_invocations_parse() -> None:
    helper = load_pod_helper()
    commands = helper_commands()
    subcommands = {argv[2] for argv in commands}
    assert {"init", "sync", "probe", "drain", "await-exit", "alive"} <= subcommands
    for argv in commands:
        assert argv[0] == "python"
        try:
            helper.parser().parse_args(argv[2:])
        except SystemExit:
            pytest.fail(f"the pod helper rejects {shlex.join(argv)}")


def test_ports_and_paths_agree_across_containers() -> None:
    init = container("prepare")["command"]
    processor = container("processor")["command"]
    envoy = container("envoy")
    sync = container("sync")["command"]
    ports = {p["name"]: p["containerPort"] for p in envoy["ports"]}
    # Envoy's listener and ops listener are the ports the pod exposes.
    assert int(flag(init, "--port")) == ports["http"]
    assert int(flag(init, "--ops-port")) == ports["ops"]
    assert flag(init, "--host") == "0.0.0.0"
    # Envoy's processor cluster and status routes point where the processor listens.
    assert flag(processor, "--listen") == "unix:" + flag(init, "--processor-socket")
    assert flag(processor, "--status-port") == flag(init, "--status-port")
    assert flag(processor, "--mock-port") == flag(init, "--mock-port")
    # Envoy runs the bootstrap init writes; the processor the bundle init copies.
    assert flag(envoy["command"], "-c") == flag(init, "--bootstrap")
    assert flag(processor, "--bundle") == f"{flag(init, '--deploy-dir')}/{BUNDLE_FILE}"
    assert flag(sync, "--deploy-dir") == flag(init, "--deploy-dir")
    assert flag(sync, "--source") == flag(init, "--source")
    # Probes and hooks talk to the ports the containers use.
    status_port = int(flag(init, "--status-port"))
    admin_port = int(flag(init, "--admin-port"))
    for argv in helper_commands():
        if argv[2] == "probe":
            assert port_of(argv[3]) == status_port, argv
        if argv[2] == "await-exit":
            assert port_of(argv[3]) == admin_port, argv
    helper = load_pod_helper()
    assert helper.DEFAULTS["admin_port"] == admin_port  # drain's default admin URL
    for probe in ("readinessProbe", "startupProbe"):
        assert envoy[probe]["httpGet"]["port"] in ports
    assert envoy["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_configmap_volume_has_the_deploy_layout() -> None:
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    source = flag(container("prepare")["command"], "--source")
    mounts = {m["mountPath"]: m["name"] for m in container("prepare")["volumeMounts"]}
    config_map = volumes[mounts[source]]["configMap"]
    assert config_map["name"] == "promptgate-deploy"
    layout = {item["path"] for item in config_map["items"]}
    assert layout == {BUNDLE_FILE, ROUTES_FILE, CLUSTERS_FILE}
    for mount in container("prepare")["volumeMounts"] + container("sync")["volumeMounts"]:
        assert "subPath" not in mount, "subPath mounts never receive ConfigMap updates"


def test_service_and_budget_select_the_pods() -> None:
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    target = service["spec"]["ports"][0]["targetPort"]
    assert target in {p["name"] for p in container("envoy")["ports"]}
    budget = one("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert one("Deployment")["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_dockerfile_provides_what_the_manifests_run() -> None:
    dockerfile = (K8S / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert re.search(rf"COPY\s+deploy/kubernetes/promptgate-pod\.py\s+{IMAGE_HELPER}", dockerfile)
    user = re.search(r"^USER\s+(\d+)", dockerfile, re.MULTILINE)
    assert user and int(user.group(1)) == pod_spec()["securityContext"]["runAsUser"]
    images = {c["image"] for c in pod_spec()["containers"] + pod_spec()["initContainers"]}
    assert images == {"promptgate"}, "one image for every container"


def test_pod_helper_writes_a_bootstrap_envoy_accepts(tmp_path: Path) -> None:
    source = _compiled(tmp_path / "compiled", _quickstart())
    init = container("prepare")["command"]
    argv = [*init[2:]]
    argv[argv.index("--source") + 1] = str(source)
    argv[argv.index("--deploy-dir") + 1] = str(tmp_path / "deploy")
    argv[argv.index("--bootstrap") + 1] = str(tmp_path / "envoy.yaml")
    assert load_pod_helper().main(argv) == 0
    checked = subprocess.run(
        [
            find_envoy(),
            "--mode",
            "validate",
            "-c",
            str(tmp_path / "envoy.yaml"),
            "--disable-hot-restart",
            "-l",
            "error",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    for name in (BUNDLE_FILE, ROUTES_FILE, CLUSTERS_FILE):
        assert (tmp_path / "deploy" / name).read_text() == (source / name).read_text()


# ---------------------------------------------------------------- CI workflow


def workflow() -> dict[str, Any]:
    raw: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    raw["on"] = raw.pop(True, raw.get("on"))
    return raw


def promptgate_calls(script: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    calls = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        # `promptgate` as a command: first word, or after ; && || $( (not `-n promptgate`).
        match = re.search(r"(?:^|;|&&|\|\||\$\()\s*promptgate\s+(.*)", line)
        if match:
            words = shlex.split(match.group(1).split(">")[0], comments=True)
            calls.append(words)
    return calls


def job_calls(job: dict[str, Any]) -> list[list[str]]:
    return [call for step in job["steps"] for call in promptgate_calls(step.get("run", ""))]


def test_workflow_parses_and_runs_on_prs_and_main() -> None:
    data = workflow()
    assert "pull_request" in data["on"]
    assert data["on"]["push"]["branches"] == ["main"]
    for job in data["jobs"].values():
        for step in job["steps"]:
            assert "uses" in step or "run" in step


def test_workflow_calls_commands_with_flags_that_exist() -> None:
    calls = [call for job in workflow()["jobs"].values() for call in job_calls(job)]
    assert {call[0] for call in calls} >= {"validate", "diff", "apply"}
    for call in calls:
        options = cli_options(call[0])
        for word in call[1:]:
            if word.startswith("-"):
                assert word.split("=")[0] in options, f"promptgate {call[0]} has no {word}"


def test_pull_requests_validate_for_github_and_comment_a_markdown_diff() -> None:
    job = next(j for j in workflow()["jobs"].values() if "pull_request" in j["if"])
    calls = job_calls(job)
    assert ["validate", "policy/", "--format", "github"] in calls
    diff = next(call for call in calls if call[0] == "diff")
    assert diff[diff.index("--format") + 1] == "markdown" and "--target" in diff
    diff_step = next(s for s in job["steps"] if "promptgate diff" in s.get("run", ""))
    assert re.search(r"\b2\)", diff_step["run"]), "exit code 2 (changes) must not fail the job"
    assert any(
        "github-script" in s.get("uses", "") or "gh pr comment" in s.get("run", "")
        for s in job["steps"]
    )
    assert job["permissions"]["pull-requests"] == "write"


def test_main_applies_and_publishes_the_configmap_the_pods_mount() -> None:
    job = next(j for j in workflow()["jobs"].values() if "push" in j["if"])
    apply = next(call for call in job_calls(job) if call[0] == "apply")
    rendered = flag(apply, "--target")
    script = "\n".join(step.get("run", "") for step in job["steps"]).replace("\\\n", " ")
    match = re.search(r"kubectl -n (\S+) create configmap (\S+)(.*)", script)
    assert match, "the deploy job publishes the ConfigMap"
    namespace, name, rest = match.groups()
    assert namespace == yaml.safe_load((K8S / "kustomization.yaml").read_text())["namespace"]
    volumes = [v["configMap"] for v in pod_spec()["volumes"] if "configMap" in v]
    assert [v["name"] for v in volumes] == [name]
    keys = dict(re.findall(r"--from-file=([\w.]+)=(\S+)", rest))
    items = {item["key"]: f"{rendered}/{item['path']}" for item in volumes[0]["items"]}
    assert keys == items, "the ConfigMap keys and files must match the volume's items"
    # The rollout check queries the processor's status port.
    assert f":{flag(container('processor')['command'], '--status-port')}/status" in script


# ---------------------------------------------------------------- dashboard


def metric_families() -> dict[str, str]:
    """Metric names and types, parsed from promptgate/runtime/metrics.py."""
    families = {}
    for node in ast.walk(ast.parse(METRICS.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"Counter", "Gauge", "Histogram", "Summary"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            families[str(node.args[0].value)] = node.func.id
    return families


def exposed_names() -> dict[str, str]:
    """Every series name Prometheus sees, mapped to its family."""
    suffixes = {
        "Counter": ["_total", "_created"],
        "Gauge": [""],
        "Histogram": ["_bucket", "_sum", "_count", "_created"],
        "Summary": ["_sum", "_count", "_created"],
    }
    names = {}
    for family, kind in metric_families().items():
        base = family.removesuffix("_total")
        for suffix in suffixes[kind]:
            names[base + suffix] = family
    return names


def dashboard_exprs() -> list[str]:
    exprs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"expr", "definition", "query"} and isinstance(value, str):
                    exprs.append(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(DASHBOARD.read_text()))
    return exprs


def metric_names(expr: str, prefix: str = "promptgate") -> set[str]:
    """Series names a PromQL expression reads (label names and values left out)."""
    expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)
    expr = re.sub(r'\w+\s*(?:=~|!~|!=|=)\s*"[^"]*"', "", expr)
    return set(re.findall(rf"\b{prefix}_\w+", expr))


def test_dashboard_parses_with_unique_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]


def test_parsed_metric_names_are_real() -> None:
    # Guards the parser itself: if metrics.py changes shape, this fails loudly.
    families = metric_families()
    assert families.get("promptgate_requests") == "Counter"
    assert families.get("promptgate_request_duration_seconds") == "Histogram"
    assert len(families) >= 10


def test_dashboard_queries_only_metrics_that_exist() -> None:
    known = exposed_names()
    used = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    assert used
    unknown = sorted(used - set(known))
    assert not unknown, f"the dashboard queries metrics the processor does not export: {unknown}"


def test_dashboard_covers_every_processor_metric() -> None:
    known = exposed_names()
    used = {
        known[name] for expr in dashboard_exprs() for name in metric_names(expr) if name in known
    }
    missing = sorted(set(metric_families()) - used)
    assert not missing, f"no panel for {missing}"
    assert any(metric_names(expr, "envoy") for expr in dashboard_exprs()), "no Envoy panel"


def test_latency_quantiles_come_from_histogram_buckets() -> None:
    for expr in dashboard_exprs():
        if "histogram_quantile" in expr:
            assert re.search(r"rate\(\w+_bucket\{", expr) and "by (le" in expr, expr


# ---------------------------------------------------------------- the pod, for real


def _quickstart() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
    return data


def _compiled(directory: Path, policy: dict[str, Any]) -> Path:
    from promptgate.compile.deploy import deploy_files
    from promptgate.config import validate_policy

    path = directory.parent / f"{directory.name}-policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    result = validate_policy(path)
    assert result.policy is not None, result.diagnostics
    for name, text in deploy_files(result.policy).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def _publish(mount: Path, generation: str, compiled: Path) -> None:
    """Update a directory the way kubelet updates a ConfigMap volume (..data swap)."""
    target = mount / generation
    for name in (BUNDLE_FILE, ROUTES_FILE, CLUSTERS_FILE):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(compiled / name, target / name)
    old = (mount / "..data").resolve() if (mount / "..data").exists() else None
    os.symlink(generation, mount / "..data_tmp")
    os.rename(mount / "..data_tmp", mount / "..data")
    for top in ("bundle.json", "xds"):
        if not (mount / top).is_symlink():
            os.symlink(f"..data/{top}", mount / top)
    if old is not None:
        shutil.rmtree(old)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {seconds}s")


def _ask(port: int, project: str, token: str) -> int:
    body = json.dumps(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 20,
            "messages": [{"role": "user", "content": "hi"}],
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/{project}/v1/messages",
        data=body,
        method="POST",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class Pod:
    """The Deployment's containers as local processes: same argv, ports and paths remapped."""

    def __init__(self, root: Path) -> None:
        self.root = root
        init = container("prepare")["command"]
        self.ports = {
            int(flag(init, name)): _free_port()
            for name in (
                "--port",
                "--admin-port",
                "--status-port",
                "--mock-port",
                "--ops-port",
            )
        }
        self.paths = {
            IMAGE_HELPER: str(POD_HELPER),
            flag(init, "--source"): str(root / "source"),
            "/var/run/promptgate": str(root / "run"),
            "/var/lib/promptgate": str(root / "data"),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def port(self, manifest_port: int) -> int:
        return self.ports[manifest_port]

    def argv(self, name: str) -> list[str]:
        result = []
        for word in container(name)["command"]:
            if word == "python":
                word = sys.executable
            elif word == "envoy":
                word = find_envoy()
            elif word == "0.0.0.0":
                word = "127.0.0.1"
            for old, new in self.paths.items():
                word = word.replace(old, new)
            word = re.sub(
                r"(?<![\d.])(\d{4,5})(?!\d)",
                lambda m: str(self.ports.get(int(m.group(1)), m.group(1))),
                word,
            )
            result.append(word)
        return result

    def run(self, name: str) -> None:
        subprocess.run(self.argv(name), check=True, capture_output=True)

    def start(self, name: str) -> None:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
        cwd = container(name).get("workingDir")
        if cwd:
            cwd = self.paths.get(cwd, cwd)
            Path(cwd).mkdir(parents=True, exist_ok=True)
        self.processes.append(
            subprocess.Popen(self.argv(name), stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        )
        log.close()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def pod(tmp_path: Path) -> Iterator[Pod]:
    running = Pod(tmp_path)
    yield running
    running.stop()


@pytest.mark.e2e
def test_pod_serves_and_rolls_out_a_configmap_update(tmp_path: Path, pod: Pod) -> None:
    policy = _quickstart()
    project = policy["projects"]["quickstart"]["id"]
    token = "pg_live_quickstart-demo-token"
    (tmp_path / "source").mkdir()
    _publish(tmp_path / "source", "..gen_1", _compiled(tmp_path / "v1", policy))

    pod.run("prepare")
    pod.start("processor")
    pod.start("envoy")
    ops = pod.port(container("envoy")["ports"][1]["containerPort"])
    listen = pod.port(container("envoy")["ports"][0]["containerPort"])
    _wait(f"http://127.0.0.1:{ops}/ready")
    _wait(f"http://127.0.0.1:{pod.port(9464)}/status")  # the processor's readiness probe
    assert _ask(listen, project, token) == 200

    # The next generation revokes the demo token and adds a provider (new route
    # and cluster), published the way kubelet updates a ConfigMap volume.
    policy["projects"]["quickstart"]["tokens"] = []
    policy["credentials"] = {"local": {"provider": "local", "api_key": {"env": "LOCAL_KEY"}}}
    policy["providers"] = {"local": {"api": "openai", "base_url": "http://127.0.0.1:9/v1"}}
    policy["projects"]["quickstart"]["providers"]["local"] = {"credential": "local"}
    v2 = _compiled(tmp_path / "v2", policy)
    _publish(tmp_path / "source", "..gen_2", v2)
    sync = pod.argv("sync")
    done = subprocess.run([*sync, "--once"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "error" not in done.stderr, done.stdout + done.stderr

    status = json.loads(_get(f"http://127.0.0.1:{pod.port(9464)}/status")[1])
    assert status["bundle_version"] == json.loads((v2 / BUNDLE_FILE).read_text())["version"]
    dump = _get(f"http://127.0.0.1:{pod.port(9901)}/config_dump")[1]
    for name in (ROUTES_FILE, CLUSTERS_FILE):
        assert xds_version((v2 / name).read_text()) in dump, name
    assert _ask(listen, project, token) == 401

    # What Prometheus scrapes through the ops listener holds what the dashboard queries.
    scraped = (
        _get(f"http://127.0.0.1:{ops}/metrics")[1]
        + _get(f"http://127.0.0.1:{ops}/stats/prometheus")[1]
    )
    series = set(re.findall(r"^(\w+)[{ ]", scraped, re.MULTILINE))
    queried = {
        name
        for expr in dashboard_exprs()
        for name in metric_names(expr) | metric_names(expr, "envoy")
    }
    # Guardrail findings and upstream failures only appear once they happen.
    lazy = {
        "promptgate_guardrail_findings_total",
        "promptgate_cost_usd_total",
        "envoy_cluster_upstream_cx_connect_fail",
    }
    missing = sorted(queried - series - lazy)
    assert not missing, f"not scraped from the pod: {missing}"


def test_the_processor_socket_is_shared_by_the_processor_and_envoy_only() -> None:
    socket_path = flag(container("prepare")["command"], "--processor-socket")
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    sharing = {}
    for entry in pod_spec()["containers"] + pod_spec()["initContainers"]:
        for mount in entry.get("volumeMounts", []):
            if socket_path.startswith(mount["mountPath"] + "/"):
                sharing[entry["name"]] = mount["name"]
    assert set(sharing) == {"processor", "envoy"}
    (volume,) = set(sharing.values())
    assert "emptyDir" in volumes[volume]
    # No other container mounts that volume anywhere.
    for entry in pod_spec()["containers"] + pod_spec()["initContainers"]:
        names = {m["name"] for m in entry.get("volumeMounts", [])}
        assert (volume in names) == (entry["name"] in sharing), entry["name"]
