"""``promptgate diff`` and ``promptgate apply``: the GitOps loop against a deploy target."""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal, TextIO

from ...compile import compile_policy
from ...compile.deploy import BUNDLE_FILE, deploy_files
from ...config import Policy, validate_policy
from ...config.diagnostics import format_text, has_errors
from ...deploy.changes import summarize
from ...deploy.directory import read_deployed
from ...deploy.report import RENDERERS, DeployDiff
from ...deploy.rollout import Rollout, RolloutFailed
from ...envoy_binary import validate_config

DiffFormat = Literal["text", "json", "markdown"]
NO_CHANGE, CHANGED, FAILED = 0, 2, 1


class TargetError(Exception):
    """The deploy target cannot be read."""


def _load(path: Path, err: TextIO) -> Policy | None:
    result = validate_policy(path)
    if result.policy is None or has_errors(result.diagnostics):
        err.write(format_text(result.diagnostics))
        err.write(f"{path}: invalid; nothing was changed\n")
        return None
    return result.policy


def _deployed(target: str) -> dict[str, str]:
    if target.startswith(("http://", "https://")):
        # A running gateway's processor serves the bundle it runs; its Envoy
        # files are compared only for a directory target.
        try:
            with urllib.request.urlopen(target.rstrip("/") + "/bundle", timeout=5) as response:
                bundle = json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TargetError(f"cannot read the bundle from {target}: {exc}") from None
        return {
            BUNDLE_FILE: json.dumps(bundle, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        }
    directory = Path(target)
    if directory.exists() and not directory.is_dir():
        raise TargetError(f"{target} is not a directory")
    return read_deployed(directory)


def compute_diff(policy: Policy, target: str) -> tuple[DeployDiff, dict[str, str]]:
    new = deploy_files(policy)
    deployed = _deployed(target)
    compared = {
        name: text
        for name, text in new.items()
        if name in deployed or not target.startswith(("http://", "https://"))
    }
    files = {
        name: (deployed.get(name, ""), text)
        for name, text in compared.items()
        if deployed.get(name) != text
    }
    old_bundle = json.loads(deployed[BUNDLE_FILE]) if BUNDLE_FILE in deployed else None
    changes = summarize(old_bundle, json.loads(new[BUNDLE_FILE])) if files else []
    return DeployDiff(target, changes, files), deployed


def diff(path: Path, target: str, output_format: DiffFormat, out: TextIO, err: TextIO) -> int:
    policy = _load(path, err)
    if policy is None:
        return FAILED
    try:
        result, _ = compute_diff(policy, target)
    except TargetError as exc:
        err.write(f"error: {exc}\n")
        return FAILED
    out.write(RENDERERS[output_format](result))
    return CHANGED if result.changed else NO_CHANGE


def _envoy_accepts(policy: Policy) -> str | None:
    with tempfile.TemporaryDirectory(prefix="promptgate-apply-") as temp:
        compile_policy(policy).write(Path(temp))
        ok, reason = validate_config(Path(temp) / "envoy.yaml")
    return None if ok else reason


def apply(path: Path, target: Path, dry_run: bool, timeout: float, out: TextIO, err: TextIO) -> int:
    policy = _load(path, err)
    if policy is None:
        return FAILED
    try:
        result, deployed = compute_diff(policy, str(target))
    except TargetError as exc:
        err.write(f"error: {exc}\n")
        return FAILED
    if dry_run:
        out.write(RENDERERS["text"](result))
        return CHANGED if result.changed else NO_CHANGE
    if not result.changed:
        out.write(f"{target}: up to date, nothing to apply\n")
        return NO_CHANGE
    reason = _envoy_accepts(policy)
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
        count = rollout.apply(deployed, deploy_files(policy))
    except RolloutFailed as exc:
        err.write(f"error: {exc}\n")
        return FAILED
    version = json.loads(deploy_files(policy)[BUNDLE_FILE])["version"]
    live = f"live on {count} instance(s)" if count else "no running instance registered"
    out.write(f"applied bundle {version[:19]} to {target}: {live}\n")
    return 0
