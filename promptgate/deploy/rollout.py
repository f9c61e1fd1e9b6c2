"""Roll a compiled policy out to a deploy directory and wait until it is live.

Files are written one at a time, each atomically, and after each write the
running instances must acknowledge it (Envoy reports the new xDS version,
the processor the new bundle version) before the next one goes out. The
order keeps every request routable throughout: clusters are first widened
to old + new, then routes and the bundle switch, then clusters shrink.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..compile.deploy import BUNDLE_FILE, CLUSTERS_FILE, ROUTES_FILE, discovery_file, xds_version
from .directory import Instance, instances, write_file

_CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"


class RolloutFailed(Exception):
    """An instance did not take a change; the old configuration keeps serving."""


@dataclass
class Rollout:
    directory: Path
    timeout: float = 30.0
    log: Callable[[str], None] = lambda _line: None

    def apply(self, deployed: dict[str, str], new: dict[str, str]) -> int:
        """Write what changed; return how many instances acknowledged everything."""
        running = instances(self.directory)
        steps: list[tuple[str, str]] = []
        old_clusters, new_clusters = deployed.get(CLUSTERS_FILE), new[CLUSTERS_FILE]
        widened = new_clusters
        if old_clusters is not None and old_clusters != new_clusters:
            widened = _union_clusters(old_clusters, new_clusters)
        if widened != old_clusters:
            steps.append((CLUSTERS_FILE, widened))
        steps += [
            (name, new[name])
            for name in (ROUTES_FILE, BUNDLE_FILE)
            if deployed.get(name) != new[name]
        ]
        if widened != new_clusters:
            steps.append((CLUSTERS_FILE, new_clusters))
        for name, text in steps:
            write_file(self.directory, name, text)
            self.log(f"wrote {name}")
            for instance in running:
                self._wait(instance, name, text)
        return len(running)

    def _wait(self, instance: Instance, name: str, text: str) -> None:
        deadline = time.monotonic() + self.timeout
        check = self._processor_has if name == BUNDLE_FILE else self._envoy_has
        last = ""
        while time.monotonic() < deadline:
            done, last = check(instance, text)
            if done:
                return
            time.sleep(0.05)
        raise RolloutFailed(
            f"instance {instance.name} did not pick up {name} within {self.timeout:.0f}s"
            + (f": {last}" if last else "")
        )

    def _envoy_has(self, instance: Instance, text: str) -> tuple[bool, str]:
        version = xds_version(text)
        try:
            dump = _get(instance.admin_url + "/config_dump")
        except OSError as exc:
            return False, f"Envoy admin unreachable ({exc})"
        return f'"version_info": "{version}"' in dump, "Envoy still reports the old version"

    def _processor_has(self, instance: Instance, text: str) -> tuple[bool, str]:
        version = json.loads(text)["version"]
        try:
            status = json.loads(_get(instance.status_url + "/status"))
        except (OSError, ValueError) as exc:
            return False, f"processor status unreachable ({exc})"
        if status.get("bundle_version") == version:
            return True, ""
        refused = status.get("refused")
        reason = f"the processor refused it: {refused['error']}" if refused else ""
        return False, reason or "the processor still serves the old bundle"


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None


def _union_clusters(old: str, new: str) -> str:
    """Clusters of both versions (new wins per name), so no route dangles mid-rollout."""

    def resources(text: str) -> list[dict[str, Any]]:
        return list(yaml.safe_load(text).get("resources") or [])

    merged = {r["name"]: r for r in resources(old)}
    merged.update({r["name"]: r for r in resources(new)})
    # Sorted like the compiler sorts, so a pure addition is exactly the new file.
    stripped = [{k: v for k, v in merged[name].items() if k != "@type"} for name in sorted(merged)]
    return discovery_file(_CLUSTER_TYPE, stripped)
