"""Every string of a request body, keys included, and how to write new text back.

The walk visits every string value and every object key at any depth, in
document order, whatever the block type or field name: unknown fields and
new block types are scanned like known ones. A schema's `Layout` says how
each string may be treated:

- ``CONTENT`` is scanned for secrets and may be rewritten; personal data is
  redacted in it unless it sits in a machine field (`type`, `id`, ...).
- ``FIXED`` is scanned but must reach the provider byte for byte (thinking
  text, which its signature covers): a secret there cannot be removed.
- No string is left unread: `Layout.classify` is the one place that names
  the exceptions to ``CONTENT``.
- Encoded text is decoded and the text inside is walked: JSON in a string
  (OpenAI tool-call `arguments`) through `JSON_TEXT`, base64 (a document's
  `source.data`, a `data:` URL) through `BASE64_TEXT`. Base64 that does not
  decode to UTF-8 text is binary (an image, a PDF): no text rule can read it.

A `Slot` has the path of its string in the decoded body; a path ending in
`Key(name)` is the key itself. `rewrite` applies new strings copy-on-write:
containers on a changed path are copied once, the rest is shared.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, NamedTuple

from ._placeholders import dumps_json

Path = tuple[Any, ...]


class Handling(Enum):
    CONTENT = "content"
    FIXED = "fixed"
    JSON = "json"
    # Base64 of a text media type: decoded, scanned, rewritten re-encoded.
    BASE64 = "base64"
    # Base64 of any other media type: decoded and scanned if it is text,
    # never rewritten (a changed length would break a PDF's offsets).
    BASE64_FIXED = "base64_fixed"


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


JSON_TEXT: Any = _Marker("JSON_TEXT")
BASE64_TEXT: Any = _Marker("BASE64_TEXT")
_DECODED = (JSON_TEXT, BASE64_TEXT)


class Key(NamedTuple):
    """The last element of a path that names an object key rather than its value."""

    name: str


class Step:
    """A path not yet spelled out: `parent` (a path or a Step) followed by `key`.

    A walk makes one per string; spelling every path out as a tuple would
    cost time and memory in proportion to its depth for each string, and
    only the strings that hold something need theirs (`located`).
    """

    __slots__ = ("key", "parent")

    def __init__(self, parent: Path | Step, key: Any) -> None:
        self.parent = parent
        self.key = key


class Slot(NamedTuple):
    """One string of the request: where it is, what it says, what may be done to it."""

    path: Path
    text: str
    pii: bool
    fixed: bool


class Unplaced(NamedTuple):
    """A string a walk found, its path not yet spelled out (`located`)."""

    where: Path | Step
    text: str
    pii: bool
    fixed: bool


def located(found: Slot | Unplaced) -> Slot:
    """The slot of a string, its path a tuple from the body's root."""
    if isinstance(found, Slot):
        return found
    keys: list[Any] = []
    node = found.where
    while isinstance(node, Step):
        keys.append(node.key)
        node = node.parent
    return Slot((*node, *reversed(keys)), found.text, found.pii, found.fixed)


def _spelled(where: Path | Step) -> Path:
    return located(Unplaced(where, "", False, False)).path


# Field names whose values are protocol, not prose: never redacted as
# personal data (a placeholder there would change the request's meaning),
# still scanned for secrets.
MACHINE_FIELDS = frozenset(
    {"type", "role", "model", "id", "tool_use_id", "tool_call_id", "media_type", "name"}
)

# `data:<media type>;base64,<payload>`, the form OpenAI takes files and images in.
_DATA_URL = re.compile(r"data:([^;,]{0,100});base64,", re.IGNORECASE)

_TEXT_MEDIA = frozenset(
    {"application/json", "application/xml", "application/x-yaml", "application/yaml"}
)

# classify(block_type, container, key, value): how the string `container[key]` is treated;
# `block_type` is the `type` of the nearest enclosing object that has one.
Classify = Callable[[str | None, dict[str, Any], str, str], Handling]

# Deeper bodies are refused: no real request nests this far, the walk (like
# any recursive reader) must stay bounded, and the gateway's JSON writer
# stops at the same depth.
MAX_DEPTH = 254


class TooDeep(ValueError):
    """The body nests deeper than `MAX_DEPTH`."""


class Layout(NamedTuple):
    """What a wire schema says about its strings."""

    classify: Classify
    # The paths (one or two levels deep) of system instructions in a body,
    # where personal data is redacted only when the policy says so.
    system_paths: Callable[[dict[str, Any]], frozenset[Path]]
    # The only keys whose values `classify` may decode (JSON, base64).
    decoded_keys: frozenset[str]


class Gathered(NamedTuple):
    """Every key and string of a subtree in walk order, without paths.

    `ranges` maps each container (by identity) to the slice of `texts` it
    holds, `starts` to where each of its items begins there; `decoded` holds
    the indexes of values the walk may decode.
    """

    texts: list[str]
    ranges: dict[int, tuple[int, int]]
    decoded: list[int]
    starts: dict[int, list[int]]


# Values a walk passes over: nothing in them to read.
_SCALARS = frozenset({int, float, bool, type(None)})


class _Gather:
    """Collects a subtree's strings; gives up where the walk would refuse."""

    def __init__(self, decoded_keys: frozenset[str]) -> None:
        self.decoded_keys = decoded_keys
        self.texts: list[str] = []
        self.ranges: dict[int, tuple[int, int]] = {}
        self.decoded: list[int] = []
        self.starts: dict[int, list[int]] = {}

    def container(self, value: dict[str, Any] | list[Any], depth: int) -> bool:
        # One level short of the walk's limit, so the walk alone decides TooDeep;
        # a container seen twice (shared in a body built in Python) has no one range.
        if depth >= MAX_DEPTH - 1 or id(value) in self.ranges:
            return False
        texts, begin = self.texts, len(self.texts)
        # Where the strings of each item begin in `texts`.
        starts: list[int] = []
        if isinstance(value, dict):
            decoded = not self.decoded_keys.isdisjoint(value)
            for key, item in value.items():
                starts.append(len(texts))
                texts.append(key)
                kind = type(item)
                if kind is str:
                    if decoded and key in self.decoded_keys:
                        self.decoded.append(len(texts))
                    texts.append(item)
                elif kind not in _SCALARS and not self.item(item, depth):
                    return False
        else:
            for item in value:
                starts.append(len(texts))
                kind = type(item)
                if kind is str:
                    texts.append(item)
                elif kind not in _SCALARS and not self.item(item, depth):
                    return False
        self.ranges[id(value)] = (begin, len(texts))
        self.starts[id(value)] = starts
        return True

    def item(self, item: Any, depth: int) -> bool:
        if isinstance(item, dict | list):
            return self.container(item, depth + 1)
        # A subclass of `str` (a body built in Python): let the walk read it.
        return not isinstance(item, str)


class Wanted:
    """The indexes (into `Gathered.texts`) of the strings a walk must visit."""

    def __init__(self, indexes: set[int], gathered: Gathered) -> None:
        self.indexes = indexes
        self.sorted = sorted(indexes)
        self.ranges = gathered.ranges
        self.starts = gathered.starts

    def within(self, container: Any) -> bool:
        """Whether `container` (gathered) holds a wanted string."""
        begin, end = self.ranges[id(container)]
        at = bisect_left(self.sorted, begin)
        return at < len(self.sorted) and self.sorted[at] < end

    def items(self, container: Any) -> list[int]:
        """The items of `container` (by position) that hold a wanted string, in order."""
        begin, end = self.ranges[id(container)]
        starts = self.starts[id(container)]
        found: list[int] = []
        for at in self.sorted[bisect_left(self.sorted, begin) : bisect_left(self.sorted, end)]:
            # Items without strings begin where the next one does: the last wins.
            index = bisect_right(starts, at) - 1
            if not found or found[-1] != index:
                found.append(index)
        return found


class _Walk:
    def __init__(self, layout: Layout, system: frozenset[Path], include_system: bool) -> None:
        self.layout = layout
        self.system = system
        self.include_system = include_system
        self.slots: list[Unplaced] = []
        # When set, only these strings are visited (see `BodyWalk.slots`).
        self.wanted: Wanted | None = None

    def value(
        self,
        value: Any,
        path: Path | Step,
        depth: int,
        block: str | None,
        pii: bool,
        fixed: bool,
    ) -> None:
        if depth > MAX_DEPTH:
            raise TooDeep(f"the body nests deeper than {MAX_DEPTH} levels")
        if depth <= 2 and _spelled(path) in self.system:
            pii = self.include_system
        if self.wanted is not None and isinstance(value, dict | list):
            self.visit(value, path, depth, block, pii, fixed, self.wanted)
        elif isinstance(value, dict):
            kind = value.get("type")
            if isinstance(kind, str):
                block = kind
            for key, item in value.items():
                self.slots.append(Unplaced(Step(path, Key(key)), key, pii and not fixed, fixed))
                if isinstance(item, str):
                    handling = self.layout.classify(block, value, key, item)
                    prose = pii and key not in MACHINE_FIELDS
                    self.string(item, Step(path, key), depth + 1, handling, prose, fixed)
                else:
                    self.value(item, Step(path, key), depth + 1, block, pii, fixed)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    self.string(item, Step(path, index), depth + 1, Handling.CONTENT, pii, fixed)
                else:
                    self.value(item, Step(path, index), depth + 1, block, pii, fixed)

    def visit(
        self,
        value: dict[str, Any] | list[Any],
        path: Path | Step,
        depth: int,
        block: str | None,
        pii: bool,
        fixed: bool,
        wanted: Wanted,
    ) -> None:
        """`value` as above, but only its items that hold a wanted string."""
        indexes, starts = wanted.indexes, wanted.starts[id(value)]
        if isinstance(value, list):
            for index in wanted.items(value):
                item = value[index]
                if isinstance(item, str):
                    self.string(item, Step(path, index), depth + 1, Handling.CONTENT, pii, fixed)
                else:
                    self.value(item, Step(path, index), depth + 1, block, pii, fixed)
            return
        kind = value.get("type")
        if isinstance(kind, str):
            block = kind
        items = list(value.items())
        for index in wanted.items(value):
            key, item = items[index]
            if starts[index] in indexes:
                self.slots.append(Unplaced(Step(path, Key(key)), key, pii and not fixed, fixed))
            if isinstance(item, str):
                if starts[index] + 1 in indexes:
                    handling = self.layout.classify(block, value, key, item)
                    prose = pii and key not in MACHINE_FIELDS
                    self.string(item, Step(path, key), depth + 1, handling, prose, fixed)
            else:
                self.value(item, Step(path, key), depth + 1, block, pii, fixed)

    def string(
        self, value: str, path: Path | Step, depth: int, handling: Handling, pii: bool, fixed: bool
    ) -> None:
        if handling is Handling.CONTENT and value[:5].lower() == "data:":
            url = _DATA_URL.match(value)
            if url is not None:
                handling = Handling.BASE64 if is_text_media(url[1]) else Handling.BASE64_FIXED
        if handling is Handling.FIXED or fixed:
            self.slots.append(Unplaced(path, value, False, True))
            return
        if handling is Handling.JSON:
            decoded = _strict_json(value)
            if isinstance(decoded, dict | list):
                # Decoded text was not gathered: all of it is walked.
                wanted, self.wanted = self.wanted, None
                try:
                    self.value(decoded, Step(path, JSON_TEXT), depth + 1, None, pii, fixed)
                finally:
                    self.wanted = wanted
                return
        if handling in (Handling.BASE64, Handling.BASE64_FIXED):
            try:
                text = decode_base64_text(value)
            except ValueError:
                # Not base64 at all: whatever it is, it is scanned as it stands.
                self.slots.append(Unplaced(path, value, False, True))
                return
            if text is None:
                # Binary (an image, a PDF): nothing a text rule can read.
                return
            if handling is Handling.BASE64_FIXED:
                self.slots.append(Unplaced(Step(path, BASE64_TEXT), text, False, True))
            else:
                self.slots.append(Unplaced(Step(path, BASE64_TEXT), text, pii, fixed))
            return
        self.slots.append(Unplaced(path, value, pii, fixed))


class Subtree(NamedTuple):
    """A top-level value, or an element of a top-level array, walked as one part.

    `context` holds everything besides the subtree's own JSON that decides
    what its walk finds (depth, inherited block type, whether personal data
    is redacted there): with equal bytes and context, the slots are equal.
    """

    path: Path
    value: Any
    context: tuple[Any, ...]


class BodyWalk:
    """A body cut into parts in document order: slots read directly, and subtrees.

    Top-level keys and strings are slots; containers are subtrees, which
    `slots` walks (a caller may instead reuse what an identical subtree held).
    """

    def __init__(self, body: dict[str, Any], layout: Layout, include_system: bool) -> None:
        self._walk = _Walk(layout, layout.system_paths(body), include_system)
        self.parts: list[Slot | Subtree] = []
        kind = body.get("type")
        block = kind if isinstance(kind, str) else None
        system = self._walk.system
        for key, item in body.items():
            path: Path = (key,)
            self.parts.append(Slot((Key(key),), key, True, False))
            if isinstance(item, str):
                handling = layout.classify(block, body, key, item)
                self.parts.extend(self._strings(item, path, handling, key not in MACHINE_FIELDS))
            elif isinstance(item, dict):
                # System paths are at most two levels deep: name those under this one.
                inner = tuple(sorted(str(p[1:]) for p in system if len(p) > 1 and p[0] == key))
                self.parts.append(Subtree(path, item, (1, block, True, path in system, inner)))
            elif isinstance(item, list):
                pii = include_system if path in system else True
                if not any(isinstance(element, dict | list) for element in item):
                    # Strings only (stop sequences): one part, not one per string.
                    self.parts.append(Subtree(path, item, (1, block, pii, path in system, ())))
                    continue
                for index, element in enumerate(item):
                    where = (key, index)
                    if isinstance(element, str):
                        self.parts.extend(self._strings(element, where, Handling.CONTENT, pii))
                    elif isinstance(element, dict | list):
                        context = (2, block, pii, where in system)
                        self.parts.append(Subtree(where, element, context))

    def _strings(self, value: str, path: Path, handling: Handling, pii: bool) -> list[Slot]:
        self._walk.slots = []
        self._walk.string(value, path, len(path), handling, pii, False)
        return [located(slot) for slot in self._walk.slots]

    def slots(self, subtree: Subtree, wanted: Wanted | None = None) -> list[Unplaced]:
        """Every string of `subtree`, or only the `wanted` ones; raises TooDeep.

        `located` spells out the path of a string that matters.
        """
        _, block, pii = subtree.context[:3]
        self._walk.slots = []
        if wanted is not None and not wanted.within(subtree.value):
            return []
        self._walk.wanted = wanted
        try:
            self._walk.value(subtree.value, subtree.path, len(subtree.path), block, pii, False)
        finally:
            self._walk.wanted = None
        return self._walk.slots

    def gather(self, parts: list[Slot | Subtree]) -> tuple[Gathered, list[int | None]]:
        """Every key and string of `parts` in walk order, read without a walk.

        For each part, the index of its text (a slot) or None where a
        subtree could not be gathered (it nests near the depth limit or
        holds a container twice: the walk reads it). Values the walk may
        decode are named in `decoded`; a `data:` URL is the caller's to spot
        in the joined text.
        """
        collect = _Gather(self._walk.layout.decoded_keys)
        placed: list[int | None] = []
        for part in parts:
            mark = len(collect.texts)
            if isinstance(part, Slot):
                collect.texts.append(part.text)
                placed.append(mark)
            elif isinstance(part.value, dict | list) and collect.container(
                part.value, len(part.path)
            ):
                placed.append(mark)
            else:
                del collect.texts[mark:]
                collect.decoded = [i for i in collect.decoded if i < mark]
                placed.append(None)
        return Gathered(collect.texts, collect.ranges, collect.decoded, collect.starts), placed


def _strict_json(text: str) -> Any:
    """Decoded JSON, or None when the text is not JSON or repeats a key.

    With a repeated key the decoded value would hide the first copy, which
    the provider still receives: such text is scanned as it stands.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    decoded = dict(pairs)
    if len(decoded) != len(pairs):
        raise ValueError("repeated key")
    return decoded


def is_text_media(media_type: str) -> bool:
    """Whether a media type holds text that may be rewritten in place."""
    kind = media_type.strip().lower()
    return kind.startswith("text/") or kind.split(";")[0] in _TEXT_MEDIA


def decode_base64_text(value: str) -> str | None:
    """The UTF-8 text a base64 string or `data:` URL carries, or None if it is binary.

    Raises ValueError when the payload is not base64.
    """
    prefix = _DATA_URL.match(value)
    payload = value[prefix.end() :] if prefix else value
    try:
        data = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _encode_base64_text(original: str, text: str) -> str:
    prefix = _DATA_URL.match(original)
    encoded = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
    return (original[: prefix.end()] if prefix else "") + encoded


def rewrite(body: dict[str, Any], changes: Sequence[tuple[Path, str]]) -> dict[str, Any]:
    """A copy of `body` with the strings at the given paths replaced.

    Values are replaced first and keys renamed last, deepest first, so every
    path still names the original keys when it is applied.
    """
    fresh: set[int] = set()
    root = _writable(body, fresh)
    encoded: dict[Path, tuple[Any, Any]] = {}
    renames: list[tuple[Path, str]] = []
    for path, text in changes:
        cut = next((i for i, part in enumerate(path) if part in _DECODED), None)
        if cut is not None:
            field, marker, inner = path[:cut], path[cut], path[cut + 1 :]
            if field not in encoded:
                original = _get(body, field)
                decoded = json.loads(original) if marker is JSON_TEXT else original
                encoded[field] = (marker, decoded)
            marker, decoded = encoded[field]
            if marker is BASE64_TEXT:
                encoded[field] = (marker, _encode_base64_text(_get(body, field), text))
            else:
                encoded[field] = (marker, _apply(decoded, inner, text, fresh))
        elif path and isinstance(path[-1], Key):
            renames.append((path, text))
        else:
            root = _set(root, path, text, fresh)
    for field, (marker, value) in encoded.items():
        root = _set(root, field, dumps_json(value) if marker is JSON_TEXT else value, fresh)
    for path, text in sorted(renames, key=lambda change: -len(change[0])):
        root = _rename(root, path[:-1], path[-1].name, text, fresh)
    return root  # type: ignore[no-any-return]


def _apply(root: Any, path: Path, text: str, fresh: set[int]) -> Any:
    if path and isinstance(path[-1], Key):
        return _rename(root, path[:-1], path[-1].name, text, fresh)
    return _set(root, path, text, fresh)


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


def _parent(root: Any, path: Path, fresh: set[int]) -> tuple[Any, Any]:
    root = _writable(root, fresh)
    node = root
    for key in path:
        child = _writable(node[key], fresh)
        node[key] = child
        node = child
    return root, node


def _set(root: Any, path: Path, value: Any, fresh: set[int]) -> Any:
    if not path:
        return value
    root, node = _parent(root, path[:-1], fresh)
    node[path[-1]] = value
    return root


def _rename(root: Any, path: Path, old: str, new: str, fresh: set[int]) -> Any:
    root, node = _parent(root, path, fresh)
    # Rebuild in place so the key keeps its position in the object.
    items = [(new if key == old else key, value) for key, value in node.items()]
    node.clear()
    node.update(items)
    return root
