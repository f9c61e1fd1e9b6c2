"""Where the text of a request lives, and how to write new text back.

A `Slot` is one JSON string a guardrail may read or rewrite, with its path in
the decoded body and a human location (`messages[3].content[0]`). Strings
inside a JSON-encoded field (OpenAI tool-call `arguments`) have a path that
runs through `JSON_TEXT`: the part before it names the field, the part after
it the string inside the decoded value.

`rewrite` applies new strings copy-on-write: containers on a changed path
are copied once, everything else is shared with the input body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from ._placeholders import dumps_json

Path = tuple[Any, ...]


class _JsonText:
    def __repr__(self) -> str:
        return "JSON_TEXT"


JSON_TEXT: Any = _JsonText()


class Slot(NamedTuple):
    """One string of the request: where it is, what it says, whether PII applies."""

    path: Path
    location: str
    text: str
    pii: bool


def json_strings(value: Any, path: Path, location: str, pii: bool) -> Iterator[Slot]:
    """Every string value (not key) inside decoded JSON, in document order."""
    if isinstance(value, str):
        yield Slot(path, location, value, pii)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f".{key}" if str(key).isidentifier() else f"[{json.dumps(key)}]"
            yield from json_strings(item, (*path, key), location + name, pii)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_strings(item, (*path, index), f"{location}[{index}]", pii)


def json_text_strings(text: str, path: Path, location: str, pii: bool) -> Iterator[Slot]:
    """Strings inside a JSON-encoded field, or the field itself if it is not JSON."""
    try:
        decoded = json.loads(text)
    except ValueError:
        yield Slot(path, location, text, pii)
        return
    yield from json_strings(decoded, (*path, JSON_TEXT), location, pii)


def rewrite(body: dict[str, Any], changes: Sequence[tuple[Path, str]]) -> dict[str, Any]:
    """A copy of `body` with the strings at the given paths replaced."""
    fresh: set[int] = set()
    root = _writable(body, fresh)
    encoded: dict[Path, Any] = {}
    for path, text in changes:
        if JSON_TEXT in path:
            cut = path.index(JSON_TEXT)
            field, inner = path[:cut], path[cut + 1 :]
            if field not in encoded:
                encoded[field] = json.loads(_get(body, field))
            encoded[field] = _set(encoded[field], inner, text, fresh)
        else:
            root = _set(root, path, text, fresh)
    for field, value in encoded.items():
        root = _set(root, field, dumps_json(value), fresh)
    return root  # type: ignore[no-any-return]


def _get(node: Any, path: Path) -> Any:
    for key in path:
        node = node[key]
    return node


def _writable(node: Any, fresh: set[int]) -> Any:
    if id(node) in fresh:
        return node
    copy = dict(node) if isinstance(node, dict) else list(node)
    fresh.add(id(copy))
    return copy


def _set(root: Any, path: Path, value: Any, fresh: set[int]) -> Any:
    if not path:
        return value
    root = _writable(root, fresh)
    node = root
    for key in path[:-1]:
        child = _writable(node[key], fresh)
        node[key] = child
        node = child
    node[path[-1]] = value
    return root
