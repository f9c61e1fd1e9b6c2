"""Render a deployment diff as text, JSON or Markdown (for a PR comment)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from .changes import Change


@dataclass(frozen=True)
class DeployDiff:
    target: str
    changes: list[Change]
    files: dict[str, tuple[str, str]]  # name -> (deployed, new), only files that differ

    @property
    def changed(self) -> bool:
        return bool(self.files)


def _unified(name: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"deployed/{name}",
        tofile=f"policy/{name}",
        n=2,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def render_text(diff: DeployDiff) -> str:
    if not diff.changed:
        return f"{diff.target}: up to date, nothing would change\n"
    out = [f"{diff.target}: {len(diff.changes)} change(s)\n"]
    out += [f"  {change}\n" for change in diff.changes]
    for name, (old, new) in sorted(diff.files.items()):
        out.append(f"\n{_unified(name, old, new)}")
    return "".join(out)


def render_json(diff: DeployDiff) -> str:
    return (
        json.dumps(
            {
                "target": diff.target,
                "changed": diff.changed,
                "changes": [c.as_dict() for c in diff.changes],
                "files": {name: _unified(name, *pair) for name, pair in sorted(diff.files.items())},
            },
            indent=2,
        )
        + "\n"
    )


def render_markdown(diff: DeployDiff) -> str:
    if not diff.changed:
        return f"### PromptGate: no changes\n\n`{diff.target}` is up to date.\n"
    out = [f"### PromptGate: {len(diff.changes)} change(s) to `{diff.target}`\n\n"]
    out += [
        f"- {'**' + c.kind + '**'} {c.subject}{': ' + c.detail if c.detail else ''}\n"
        for c in diff.changes
    ]
    for name, (old, new) in sorted(diff.files.items()):
        out.append(
            f"\n<details><summary>{name}</summary>\n\n```diff\n{_unified(name, old, new)}"
            "```\n</details>\n"
        )
    return "".join(out)


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
