"""Load a policy: read the files, validate each against the model, merge them.

A policy is one YAML file or a directory of ``*.yaml`` files. Each file is
validated on its own so that every problem points into the file it is in;
then the sections are merged, and a name defined in two files is an error
that shows both places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._yaml import MAX_POLICY_BYTES, KeyPath, MarkedDocument, YAMLSyntaxError, load_marked
from .diagnostics import Diagnostic, Location, Severity
from .models import API_VERSION, Policy, PolicyFile

_NAMED_SECTIONS = ("credentials", "providers", "projects", "prices")
_SINGLE_SECTIONS = ("logging", "gateway")


class PolicyNotFound(Exception):
    """The policy path does not exist or holds no YAML files."""


@dataclass
class Origins:
    """Where each merged policy entry came from, to locate later findings."""

    named: dict[tuple[str, str], tuple[MarkedDocument, KeyPath]] = field(default_factory=dict)
    webhooks: list[tuple[MarkedDocument, KeyPath]] = field(default_factory=list)
    singles: dict[str, tuple[MarkedDocument, KeyPath]] = field(default_factory=dict)
    documents: list[MarkedDocument] = field(default_factory=list)

    def _resolve(self, path: KeyPath) -> tuple[MarkedDocument, KeyPath] | None:
        if len(path) >= 2 and path[0] in _NAMED_SECTIONS:
            hit = self.named.get((str(path[0]), str(path[1])))
            return (hit[0], hit[1] + path[2:]) if hit else None
        if len(path) >= 2 and path[0] == "webhooks" and isinstance(path[1], int):
            if path[1] < len(self.webhooks):
                doc, base = self.webhooks[path[1]]
                return doc, base + path[2:]
            return None
        if path and path[0] in _SINGLE_SECTIONS and str(path[0]) in self.singles:
            doc, base = self.singles[str(path[0])]
            return doc, base + path[1:]
        return None

    def locate(self, path: KeyPath) -> Location:
        hit = self._resolve(path)
        if hit:
            return hit[0].locate(hit[1])
        first = self.documents[0].file if self.documents else "<policy>"
        return Location(first, 1, 1)

    def locate_key(self, path: KeyPath) -> Location:
        hit = self._resolve(path)
        if hit:
            return hit[0].locate_key(hit[1])
        return self.locate(path)


@dataclass
class LoadResult:
    policy: Policy | None
    origins: Origins
    diagnostics: list[Diagnostic]


def policy_files(path: Path) -> list[Path]:
    """The YAML files of a policy path, in a stable order."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        if files:
            return files
        raise PolicyNotFound(f"{path}: no *.yaml files in this directory")
    raise PolicyNotFound(f"{path}: no such file or directory")


def key_path_text(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _pydantic_message(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        return f"unknown key {last!r}"
    if kind == "missing":
        return f"missing required key {last!r}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{error['input']!r} is not allowed here; expected {expected}"
    if kind == "string_pattern_mismatch":
        return f"{error['msg'].lower()}"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _validate_file(doc: MarkedDocument) -> tuple[PolicyFile | None, list[Diagnostic]]:
    data = doc.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None, [
            Diagnostic(doc.locate(()), Severity.ERROR, "a policy file must be a YAML mapping")
        ]
    if data.get("apiVersion") != API_VERSION and "apiVersion" in data:
        return None, [
            Diagnostic(
                doc.locate(("apiVersion",)),
                Severity.ERROR,
                f"unsupported apiVersion {data.get('apiVersion')!r}; expected {API_VERSION!r}",
                "apiVersion",
            )
        ]
    try:
        return PolicyFile.model_validate(data), []
    except ValidationError as exc:
        diagnostics = []
        for error in exc.errors():
            # pydantic appends "[key]" pseudo-locations for dict keys; drop them.
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p == "[key]"))
            location = (
                doc.locate_key(loc) if error["type"] == "extra_forbidden" else doc.locate(loc)
            )
            diagnostics.append(
                Diagnostic(location, Severity.ERROR, _pydantic_message(error), key_path_text(loc))
            )
        return None, diagnostics


def read_documents(path: Path) -> tuple[list[MarkedDocument], list[Diagnostic]]:
    documents, diagnostics = [], []
    for file in policy_files(path):
        try:
            with file.open("rb") as handle:
                raw = handle.read(MAX_POLICY_BYTES + 1)
            if len(raw) > MAX_POLICY_BYTES:
                diagnostics.append(
                    Diagnostic(
                        Location(str(file), 1, 1),
                        Severity.ERROR,
                        f"policy file is larger than {MAX_POLICY_BYTES // (1024 * 1024)} MiB; "
                        "split it into several files",
                    )
                )
                continue
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            diagnostics.append(
                Diagnostic(Location(str(file), 1, 1), Severity.ERROR, f"cannot read file: {exc}")
            )
            continue
        try:
            documents.append(load_marked(text, str(file)))
        except YAMLSyntaxError as exc:
            diagnostics.append(Diagnostic(exc.location, Severity.ERROR, exc.message))
    return documents, diagnostics


def merge(
    parsed: list[tuple[MarkedDocument, PolicyFile]], origins: Origins
) -> tuple[Policy | None, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    merged: dict[str, Any] = {name: {} for name in _NAMED_SECTIONS}
    merged["webhooks"] = []
    for doc, part in parsed:
        for section in _NAMED_SECTIONS:
            for name, value in getattr(part, section).items():
                key = (section, name)
                if key in origins.named:
                    first_doc, first_path = origins.named[key]
                    diagnostics.append(
                        Diagnostic(
                            doc.locate_key((section, name)),
                            Severity.ERROR,
                            f"{section[:-1] if section != 'prices' else 'price'} {name!r} is "
                            f"defined twice; first definition at "
                            f"{first_doc.locate_key(first_path)}",
                            f"{section}.{name}",
                        )
                    )
                    continue
                origins.named[key] = (doc, (section, name))
                merged[section][name] = value
        for index, webhook in enumerate(part.webhooks):
            origins.webhooks.append((doc, ("webhooks", index)))
            merged["webhooks"].append(webhook)
        for section in _SINGLE_SECTIONS:
            value = getattr(part, section)
            if value is None:
                continue
            if section in origins.singles:
                first_doc, _ = origins.singles[section]
                diagnostics.append(
                    Diagnostic(
                        doc.locate_key((section,)),
                        Severity.ERROR,
                        f"{section!r} is defined twice; first definition at "
                        f"{first_doc.locate_key((section,))}",
                        section,
                    )
                )
                continue
            origins.singles[section] = (doc, (section,))
            merged[section] = value
    if diagnostics:
        return None, diagnostics
    return Policy(**merged), []


def load_policy(path: Path) -> LoadResult:
    """Read, validate and merge the policy at ``path``; never raises for bad input."""
    origins = Origins()
    documents, diagnostics = read_documents(path)
    origins.documents = documents
    parsed: list[tuple[MarkedDocument, PolicyFile]] = []
    for doc in documents:
        part, problems = _validate_file(doc)
        diagnostics.extend(problems)
        if part is not None:
            parsed.append((doc, part))
    policy = None
    if not diagnostics:
        policy, problems = merge(parsed, origins)
        diagnostics.extend(problems)
    return LoadResult(policy, origins, diagnostics)
