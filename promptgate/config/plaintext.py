"""Find secret values written into the policy in plain text.

Policy is reviewed in pull requests and compiled into files that many
people can read, so a literal key in it is a leak. Credentials must be
references (``{env: NAME}`` or ``{file: PATH}``); this check points at any
string that looks like a key, a PromptGate token or a URL with a password.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import re2

from ._yaml import KeyPath, MarkedDocument
from .diagnostics import Diagnostic, Severity
from .load import key_path_text

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False

# Shapes of well-known credentials. These are anchored on distinctive
# prefixes so that ordinary names and model ids never match.
_KEY_SHAPES: list[tuple[str, str]] = [
    ("an Anthropic API key", r"sk-ant-[A-Za-z0-9_-]{16,}"),
    ("an OpenAI API key", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("a PromptGate token", r"pg_live_[A-Za-z0-9]{20,}"),
    ("an AWS access key id", r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
    ("a GitHub token", r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    ("a GitLab token", r"glpat-[A-Za-z0-9_-]{20,}"),
    ("a Slack token", r"xox[abprs]-[A-Za-z0-9-]{10,}"),
    ("a Google API key", r"AIza[0-9A-Za-z_-]{35}"),
    ("a Stripe key", r"(?:sk|rk)_live_[A-Za-z0-9]{16,}"),
    ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ("a password in a URL", r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
]
_SHAPES = [(label, re2.compile(pattern, options=_OPTIONS)) for label, pattern in _KEY_SHAPES]
# One pass over each string finds whether any shape is there; only a hit
# pays for working out which one (a large policy has tens of thousands of strings).
_ANY_SHAPE = re2.compile("|".join(f"(?:{p})" for _, p in _KEY_SHAPES), options=_OPTIONS)
_SECRET_KEYS = {"password", "passwd", "secret", "api_key", "apikey", "token", "access_key"}


def _strings(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def find_plaintext_secrets(doc: MarkedDocument) -> list[Diagnostic]:
    """Diagnostics for every literal in ``doc`` that looks like a secret value."""
    diagnostics = []
    hint = (
        "put the value in an environment variable or a file and write {env: NAME} or {file: PATH}"
    )
    for path, text in _strings(doc.data, ()):
        last = path[-1] if path else ""
        # `regex` fields describe secrets; they are patterns, not values.
        if last == "regex" or (len(path) >= 2 and path[-2] in ("allowlist", "keywords")):
            continue
        label = None
        if _ANY_SHAPE.search(text):
            label = next(label for label, shape in _SHAPES if shape.search(text))
        if label is None and isinstance(last, str) and last.lower() in _SECRET_KEYS:
            label = f"a plaintext {last}"
        if label:
            diagnostics.append(
                Diagnostic(
                    doc.locate(path),
                    Severity.ERROR,
                    f"this looks like {label}; secrets must not be written into the policy: {hint}",
                    key_path_text(path),
                )
            )
    return diagnostics
