"""``promptgate diff`` and ``promptgate apply``: the GitOps loop against a deploy target.

With ``--mesh istio`` or ``--mesh envoy-gateway`` the target is a directory of
mesh resources in a Git checkout: apply only writes the files (the mesh's
own GitOps tooling, Argo CD or Flux, rolls them out) and diff compares them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from ...compile.bundle import render_bundle
from ...compile.crd_check import check_resources
from ...compile.deploy import BUNDLE_FILE, deploy_files
from ...compile.targets import MESH_TARGETS, read_mesh_dir, write_mesh_dir
from ...config import Policy
from ...config.diagnostics import format_text, has_errors
from ...deploy.changes import summarize
from ...deploy.directory import read_deployed
from ...deploy.report import RENDERERS, DeployDiff
from ...deploy.rollout import Rollout, RolloutFailed
from ...envoy_binary import envoy_rejection
from ._policy import load_valid

DiffFormat = Literal["text", "json", "markdown"]
NO_CHANGE, CHANGED, FAILED = 0, 2, 1


class TargetError(Exception):
    """The deploy target cannot be read."""


def _load(path: Path, err: TextIO) -> Policy | None:
    loaded = load_valid(path, err, "nothing was changed")
    return loaded[0] if loaded is not None else None


def _deployed(target: str) -> dict[str, str]:
    if _is_url(target):
        # A running gateway's processor serves the bundle it runs; its Envoy
        # files are compared only for a directory target.
        try:
            with urllib.request.urlopen(target.rstrip("/") + "/bundle", timeout=5) as response:
                bundle = json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TargetError(f"cannot read the bundle from {target}: {exc}") from None
        return {BUNDLE_FILE: render_bundle(bundle)}
    directory = Path(target)
    if directory.exists() and not directory.is_dir():
        raise TargetError(f"{target} is not a directory")
    return read_deployed(directory)


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Comparison:
    """The policy's deploy files, what the target holds, and the difference."""

    diff: DeployDiff
    deployed: dict[str, str]
    new: dict[str, str]


def compute_diff(policy: Policy, target: str) -> Comparison:
    new = deploy_files(policy)
    deployed = _deployed(target)
    compared = {name: text for name, text in new.items() if name in deployed or not _is_url(target)}
    files = {
        name: (deployed.get(name, ""), text)
        for name, text in compared.items()
        if deployed.get(name) != text
    }
    old_bundle = json.loads(deployed[BUNDLE_FILE]) if BUNDLE_FILE in deployed else None
    changes = summarize(old_bundle, json.loads(new[BUNDLE_FILE])) if files else []
    return Comparison(DeployDiff(target, changes, files), deployed, new)


def compute_mesh_diff(policy: Policy, target: str, mesh: str) -> Comparison:
    """The mesh target's files against those a previous compile left in ``target``."""
    if _is_url(target):
        raise TargetError(f"--mesh {mesh} compares with a directory, not {target}")
    new = MESH_TARGETS[mesh](policy)
    deployed = read_mesh_dir(Path(target))
    files = {
        name: (deployed.get(name, ""), new.get(name, ""))
        for name in sorted(set(new) | set(deployed))
        if deployed.get(name) != new.get(name)
    }
    old_bundle = json.loads(deployed[BUNDLE_FILE]) if BUNDLE_FILE in deployed else None
    changes = summarize(old_bundle, json.loads(new[BUNDLE_FILE])) if files else []
    return Comparison(DeployDiff(target, changes, files), deployed, new)


def _compare(policy: Policy, target: str, mesh: str | None) -> Comparison:
    return compute_diff(policy, target) if mesh is None else compute_mesh_diff(policy, target, mesh)


def diff(
    path: Path,
    target: str,
    output_format: DiffFormat,
    out: TextIO,
    err: TextIO,
    mesh: str | None = None,
) -> int:
    policy = _load(path, err)
    if policy is None:
        return FAILED
    try:
        result = _compare(policy, target, mesh).diff
    except TargetError as exc:
        err.write(f"error: {exc}\n")
        return FAILED
    out.write(RENDERERS[output_format](result))
    return CHANGED if result.changed else NO_CHANGE


def _apply_mesh(target: Path, comparison: Comparison, out: TextIO, err: TextIO) -> int:
    problems = check_resources(comparison.new, str(target))
    if has_errors(problems):
        err.write(format_text(problems))
        err.write("error: the resources fail their CRD schemas, nothing was changed\n")
        return FAILED
    for change in comparison.diff.changes:
        out.write(f"  {change}\n")
    write_mesh_dir(target, comparison.deployed, comparison.new)
    names = ", ".join(sorted(comparison.diff.files))
    out.write(f"wrote {target}: {names}; commit it for your GitOps tool to roll out\n")
    return 0


def apply(
    path: Path,
    target: Path,
    dry_run: bool,
    timeout: float,
    out: TextIO,
    err: TextIO,
    mesh: str | None = None,
) -> int:
    policy = _load(path, err)
    if policy is None:
        return FAILED
    try:
        comparison = _compare(policy, str(target), mesh)
    except TargetError as exc:
        err.write(f"error: {exc}\n")
        return FAILED
    result = comparison.diff
    if dry_run:
        out.write(RENDERERS["text"](result))
        return CHANGED if result.changed else NO_CHANGE
    if not result.changed:
        out.write(f"{target}: up to date, nothing to apply\n")
        return NO_CHANGE
    if mesh is not None:
        return _apply_mesh(target, comparison, out, err)
    reason = envoy_rejection(policy)
    if reason is not None:
        err.write(f"error: Envoy rejects the compiled config, nothing was changed: {reason}\n")
        return FAILED
    for change in result.changes:
        out.write(f"  {change}\n")

    def log(line: str) -> None:
        out.write(f"{line}\n")
        out.flush()

    rollout = Rollout(target, timeout=timeout, log=log)
    try:
        count = rollout.apply(comparison.deployed, comparison.new)
    except RolloutFailed as exc:
        err.write(f"error: {exc}\n")
        return FAILED
    version = json.loads(comparison.new[BUNDLE_FILE])["version"]
    live = f"live on {count} instance(s)" if count else "no running instance registered"
    out.write(f"applied bundle {version[:19]} to {target}: {live}\n")
    return 0
