"""A deploy directory on disk: its shared files and the instances serving it."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

from ..compile import write_atomically
from ..compile.deploy import BUNDLE_FILE, CLUSTERS_FILE, ROUTES_FILE
from ..runtime.processes import pid_alive

SHARED_FILES = (BUNDLE_FILE, ROUTES_FILE, CLUSTERS_FILE)


@dataclass(frozen=True)
class Instance:
    """A running gateway instance, as it registered itself."""

    name: str
    host: str
    pid: int
    url: str
    admin_url: str
    status_url: str


def read_deployed(directory: Path) -> dict[str, str]:
    """The shared files present in ``directory`` (missing ones are left out)."""
    files = {}
    for name in SHARED_FILES:
        path = directory / name
        if path.is_file():
            files[name] = path.read_text(encoding="utf-8")
    return files


def write_file(directory: Path, name: str, text: str) -> None:
    """Write one shared file atomically (Envoy reloads on the rename into xds/)."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text)


def instances(directory: Path) -> list[Instance]:
    """Instances registered in ``directory``; registrations of dead local processes are dropped."""
    found = []
    here = socket.gethostname()
    for path in sorted((directory / "instances").glob("*.json")):
        try:
            data = json.loads(path.read_text())
            instance = Instance(**{k: data[k] for k in Instance.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if instance.host == here and not pid_alive(instance.pid):
            path.unlink(missing_ok=True)
            continue
        found.append(instance)
    return found
