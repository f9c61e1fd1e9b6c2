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
  Any other `data` value is read as it stands and, when it is base64 of
  text, decoded too (fixed: a secret there is refused, nothing rewritten).

A `Slot` has the path of its string in the decoded body; a path ending in
`Key(name)` is the key itself. `rewrite` applies new strings copy-on-write:
containers on a changed path are copied once, the rest is shared.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from itertools import accumulate, compress, count, repeat
from operator import add
from typing import Any, NamedTuple

import orjson

from ._jsonstrings import string_count
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
    # Of those, the keys whose string values `classify` always reads as JSON.
    json_keys: frozenset[str] = frozenset()


class Wanted:
    """The strings a walk must visit: indexes into a part's keys and strings in walk order.

    Which items of a container hold one is found when the walk reaches the
    container (`_holding`): only containers that hold a wanted string are
    looked into.
    """

    def __init__(self, indexes: Iterable[int], sizes: dict[int, int] | None = None) -> None:
        self.indexes = set(indexes)
        self.sorted = sorted(self.indexes)
        # Strings per container (by id) where a reader counted them already.
        self.sizes = sizes or {}

    def holds(self, begin: int, end: int) -> bool:
        """Whether a wanted string lies in `[begin, end)`."""
        at = bisect_left(self.sorted, begin)
        return at < len(self.sorted) and self.sorted[at] < end

    def count(self, begin: int, end: int) -> int:
        """How many wanted strings lie in `[begin, end)`."""
        return bisect_left(self.sorted, end) - bisect_left(self.sorted, begin)

    def within(self, begin: int, end: int) -> list[int]:
        """The wanted strings in `[begin, end)`, in order."""
        return self.sorted[bisect_left(self.sorted, begin) : bisect_left(self.sorted, end)]

    def between(self, begin: int, end: int) -> Wanted:
        """The wanted strings in `[begin, end)`, counted from `begin`."""
        return Wanted((i - begin for i in self.within(begin, end)), self.sizes)


# Where the wanted strings of a container are, four ways, by cost:
# - a few items (a message, a block, a tool call): stepped over in Python
#   (a container that small is stepped over by the walk itself, `_Walk._few`);
# - few items per wanted string: each item is counted in one pass (an
#   orjson write each, ~0.5 µs for a small item), each string placed by
#   bisection of the running counts;
# - a few hundred items: each wanted string is found by halving the items
#   (6 orjson writes of shrinking halves for 64 small items, ~12 µs);
# - more: the items are halved once for all wanted strings, each half
#   again, until the segments are small (a half without a wanted string is
#   dropped, so one among n items costs about n items' bytes of writes).
_ONE_PASS_PER_LEVEL = 2
_HALVED_EACH = 256
_FEW = 8


def _one_pass(items: int, wanted: int) -> bool:
    """Whether `items` items holding `wanted` strings are counted item by item."""
    return items <= _ONE_PASS_PER_LEVEL * wanted * items.bit_length()


_CONTAINERS = (dict, list)


def _item_counts(items: list[Any], keyed: bool, sizes: dict[int, int]) -> list[int]:
    """How many keys and strings each of `items` (values of an object if `keyed`) holds."""
    # Each a string (one) or not (none), and a key each in an object.
    counts: list[int] = list(map(add, map(isinstance, items, repeat(str)), repeat(int(keyed))))
    nested = list(compress(count(), map(isinstance, items, repeat(_CONTAINERS))))
    if not nested:
        return counts
    inner = [items[at] for at in nested]
    if sizes and any(id(item) in sizes for item in inner):
        # Counted by the reader already: long strings are not written again.
        found = [_nested_count(item, sizes) for item in inner]
    elif b"\\" in orjson.dumps(inner):
        found = list(map(string_count, map(orjson.dumps, inner)))
    else:
        # No backslash: every quote is a string's own. Each item's JSON is
        # counted and dropped at once: keeping thousands of orjson's outputs
        # (each in a buffer of its own) would cost more than writing them.
        found = [quotes >> 1 for quotes in map(bytes.count, map(orjson.dumps, inner), repeat(b'"'))]
    for at, inside in zip(nested, found, strict=True):
        counts[at] += inside
    return counts


def _strings_in(item: Any) -> int:
    """How many keys and strings `item` holds (a string itself: one)."""
    return string_count(orjson.dumps(item))


def _nested_count(item: dict[str, Any] | list[Any], sizes: dict[int, int]) -> int:
    """How many keys and strings container `item` holds, as the reader counted it if it did."""
    return sizes[id(item)] if id(item) in sizes else _strings_in(item)


def _slice_count(items: list[Any], keyed: bool, wanted: Wanted) -> int:
    """How many keys and strings `items` hold together."""
    if wanted.sizes and id(items[0]) in wanted.sizes:
        # Counted by the reader already: long strings are not written again.
        return sum(_item_counts(items, keyed, wanted.sizes))
    return _strings_in(items) + keyed * len(items)


def _stepped(
    items: list[Any], keyed: bool, wanted: Wanted, low: int, high: int, first: int, last: int
) -> list[tuple[int, int, int]]:
    """As `_counted`, item by item up to the last wanted string: for a few items."""
    targets = wanted.within(first, last)
    found: list[tuple[int, int, int]] = []
    at, next_target, sizes = first, 0, wanted.sizes
    for index in range(low, high):
        item = items[index]
        if index == high - 1:
            after = last
        elif isinstance(item, str):
            after = at + keyed + 1
        elif isinstance(item, _CONTAINERS):
            after = at + keyed + _nested_count(item, sizes)
        else:
            after = at + keyed
        if targets[next_target] < after:
            found.append((index, at, after))
            while next_target < len(targets) and targets[next_target] < after:
                next_target += 1
            if next_target == len(targets):
                break
        at = after
    return found


def _counted(
    items: list[Any], keyed: bool, wanted: Wanted, low: int, high: int, first: int, last: int
) -> list[tuple[int, int, int]]:
    """The items of `items[low:high]` (strings `[first, last)`) holding wanted strings.

    Each item is counted, once.
    """
    counts = _item_counts(items[low : high - 1], keyed, wanted.sizes)
    bounds = list(accumulate(counts, initial=first))
    bounds.append(last)
    found: list[tuple[int, int, int]] = []
    for index in wanted.within(first, last):
        at = bisect_right(bounds, index) - 1
        if not found or found[-1][0] != low + at:
            found.append((low + at, bounds[at], bounds[at + 1]))
    return found


def _halved(
    items: list[Any], keyed: bool, wanted: Wanted, low: int, high: int, first: int, last: int
) -> list[tuple[int, int, int]]:
    """As `_counted`, each wanted string found by halving the items around it."""
    found: list[tuple[int, int, int]] = []
    covered, sizes = first, wanted.sizes
    for index in wanted.within(first, last):
        if index < covered:
            # In the item found for the string before.
            continue
        # The item holding `index` lies in [below, above), its strings in [start, end).
        below, above, start, end = low, high, first, last
        if found:
            below, start = found[-1][0] + 1, covered
        while above - below > 1:
            middle = (below + above) >> 1
            half = items[below:middle]
            if sizes and id(half[0]) in sizes:
                after = start + _slice_count(half, keyed, wanted)
            else:
                # `_slice_count` inlined: this loop is the walk's hot path.
                data = orjson.dumps(half)
                quotes = data.count(b'"') >> 1 if b"\\" not in data else string_count(data)
                after = start + quotes + keyed * (middle - below)
            if index < after:
                above, end = middle, after
            else:
                below, start = middle, after
        found.append((below, start, end))
        covered = end
    return found


def _holding(
    value: dict[str, Any] | list[Any], begin: int, end: int, wanted: Wanted
) -> list[tuple[int, int, int]]:
    """(position, first, end) of each item of `value` that holds a wanted string.

    `[begin, end)` are the container's keys and strings; an item's range
    starts at its key in an object. The last slice is never serialized:
    where it ends is known, so a chain of nested single items costs nothing.
    """
    keyed = isinstance(value, dict)
    items: list[Any] = list(value.values()) if isinstance(value, dict) else value
    found: list[tuple[int, int, int]] = []
    segments = [(0, len(items), begin, end)]
    while segments:
        low, high, first, last = segments.pop()
        inside = wanted.count(first, last)
        if not inside:
            continue
        if high - low == 1:
            found.append((low, first, last))
            continue
        if high - low <= _FEW:
            found.extend(_stepped(items, keyed, wanted, low, high, first, last))
            continue
        if _one_pass(high - low, inside):
            found.extend(_counted(items, keyed, wanted, low, high, first, last))
            continue
        if high - low <= _HALVED_EACH:
            found.extend(_halved(items, keyed, wanted, low, high, first, last))
            continue
        step = -(-(high - low) // 2)
        at = first
        cut: list[tuple[int, int, int, int]] = []
        for start in range(low, high, step):
            stop = min(start + step, high)
            after = last if stop == high else at + _slice_count(items[start:stop], keyed, wanted)
            cut.append((start, stop, at, after))
            at = after
        segments.extend(reversed(cut))
    return found


class _Walk:
    def __init__(self, layout: Layout, system: frozenset[Path], include_system: bool) -> None:
        self.layout = layout
        # Keys whose values are also read as base64 when not decoded otherwise.
        self._also = layout.decoded_keys - layout.json_keys
        self.system = system
        self.include_system = include_system
        self.slots: list[Unplaced] = []
        # When set, only these strings are visited (see `BodyWalk.slots`).
        self.wanted: Wanted | None = None
        # JSON text decoded so far, by its text: `rewrite` encodes it again.
        self.decoded: dict[str, Any] = {}

    def value(
        self,
        value: Any,
        path: Path | Step,
        depth: int,
        block: str | None,
        pii: bool,
        fixed: bool,
        begin: int = 0,
        end: int = 0,
    ) -> None:
        """Walk `value`; with `wanted` set, `[begin, end)` are its keys and strings."""
        if depth > MAX_DEPTH:
            raise TooDeep(f"the body nests deeper than {MAX_DEPTH} levels")
        if depth <= 2 and _spelled(path) in self.system:
            pii = self.include_system
        if self.wanted is not None and isinstance(value, dict | list):
            self.visit(value, path, depth, block, pii, fixed, self.wanted, begin, end)
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
        begin: int,
        end: int,
        shift: int = 0,
    ) -> None:
        """`value` as above, but only its items that hold a wanted string.

        `shift` is added to list positions in paths (a run of a longer list).
        """
        if len(value) <= _FEW:
            # A message, a block, a tool call: stepped over here, the
            # walk's hot path (no item list, no search of the items).
            self._few(value, path, depth, block, pii, fixed, wanted, begin, end, shift)
            return
        holding = _holding(value, begin, end, wanted)
        if isinstance(value, list):
            for index, first, last in holding:
                self._item(
                    value[index], Step(path, index + shift), depth, block, pii, fixed, first, last
                )
            return
        kind = value.get("type")
        if isinstance(kind, str):
            block = kind
        items = list(value.items())
        for index, first, last in holding:
            key, item = items[index]
            self._entry(value, key, item, path, depth, block, pii, fixed, wanted, first, last)

    def _few(
        self,
        value: dict[str, Any] | list[Any],
        path: Path | Step,
        depth: int,
        block: str | None,
        pii: bool,
        fixed: bool,
        wanted: Wanted,
        begin: int,
        end: int,
        shift: int,
    ) -> None:
        """`visit` of a container of at most `_FEW` items, item by item up to the last wanted."""
        targets = wanted.within(begin, end)
        if not targets:
            return
        sizes, left, at = wanted.sizes, len(value), begin
        goal = targets[0]
        # (key, value) of an object, (position, item) of a list: one loop for both.
        pairs: Iterable[tuple[Any, Any]] = enumerate(value)
        keyed = isinstance(value, dict)
        if isinstance(value, dict):
            pairs = value.items()
            kind = value.get("type")
            if isinstance(kind, str):
                block = kind
        for key, item in pairs:
            left -= 1
            if not left:
                after = end
            elif isinstance(item, str):
                after = at + keyed + 1
            elif isinstance(item, _CONTAINERS):
                after = at + keyed + _nested_count(item, sizes)
            else:
                after = at + keyed
            if goal < after:
                if isinstance(value, dict):
                    self._entry(value, key, item, path, depth, block, pii, fixed, wanted, at, after)
                else:
                    where = Step(path, key + shift)
                    self._item(item, where, depth, block, pii, fixed, at, after)
                if targets[-1] < after:
                    return
                goal = targets[bisect_left(targets, after)]
            at = after

    def _item(
        self,
        item: Any,
        where: Step,
        depth: int,
        block: str | None,
        pii: bool,
        fixed: bool,
        first: int,
        last: int,
    ) -> None:
        """A list item holding a wanted string, its strings `[first, last)`."""
        if isinstance(item, str):
            self.string(item, where, depth + 1, Handling.CONTENT, pii, fixed)
        else:
            self.value(item, where, depth + 1, block, pii, fixed, first, last)

    def _entry(
        self,
        value: dict[str, Any],
        key: str,
        item: Any,
        path: Path | Step,
        depth: int,
        block: str | None,
        pii: bool,
        fixed: bool,
        wanted: Wanted,
        first: int,
        last: int,
    ) -> None:
        """An object's key and value holding a wanted string, its strings `[first, last)`."""
        indexes = wanted.indexes
        if first in indexes:
            self.slots.append(Unplaced(Step(path, Key(key)), key, pii and not fixed, fixed))
        if isinstance(item, str):
            if first + 1 in indexes:
                handling = self.layout.classify(block, value, key, item)
                prose = pii and key not in MACHINE_FIELDS
                self.string(item, Step(path, key), depth + 1, handling, prose, fixed)
        else:
            self.value(item, Step(path, key), depth + 1, block, pii, fixed, first + 1, last)

    def string(
        self, value: str, path: Path | Step, depth: int, handling: Handling, pii: bool, fixed: bool
    ) -> None:
        self._string(value, path, depth, handling, pii, fixed)
        key = path.key if isinstance(path, Step) else path[-1] if path else None
        if (
            key in self._also
            and handling in (Handling.CONTENT, Handling.FIXED)
            and _DATA_URL.match(value) is None
        ):
            # Any other `data` value is read as it stands, and if it is base64
            # of text, that text too (never rewritten): base64 hides text from
            # every rule, and the joined strings count it (`_request._Early`).
            try:
                text = decode_base64_text(value)
            except ValueError:
                return
            if text is not None:
                self.slots.append(Unplaced(Step(path, BASE64_TEXT), text, False, True))

    def _string(
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
                self.decoded[value] = decoded
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
    """A top-level value, or a run of a top-level array's elements, walked as one part.

    `context` holds everything besides the subtree's own JSON that decides
    what its walk finds (depth, inherited block type, whether personal data
    is redacted there): with equal bytes and context, the slots are equal.
    A run (`start` set) is `value`, a slice of the array at `path` whose
    first element is element `start`.
    """

    path: Path
    value: Any
    context: tuple[Any, ...]
    start: int | None = None


# Elements of a top-level array per run, at most: one part (one cache entry,
# one lookup) for up to this many, where a part per element would cost µs
# of bookkeeping each, and a body of 30,000 tiny messages ~100 ms per MB.
RUN = 64


def runs(length: int) -> list[tuple[int, int]]:
    """(start, size) of the runs an array of `length` elements is cut into.

    Runs of `RUN` elements, then the rest in aligned runs of falling powers
    of two: as a conversation grows by a turn, only its last few runs are
    new, and a run of `RUN` is new once per `RUN` elements.
    """
    cut: list[tuple[int, int]] = []
    start = 0
    while start < length:
        size = RUN
        while size > length - start:
            size //= 2
        cut.append((start, size))
        start += size
    return cut


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
                marked = sorted(p[1] for p in system if len(p) == 2 and p[0] == key)
                for start, size in runs(len(item)):
                    inside = tuple(i - start for i in marked if start <= i < start + size)
                    context = ("run", block, pii, inside)
                    self.parts.append(Subtree(path, item[start : start + size], context, start))

    def _strings(self, value: str, path: Path, handling: Handling, pii: bool) -> list[Slot]:
        self._walk.slots = []
        self._walk.string(value, path, len(path), handling, pii, False)
        return [located(slot) for slot in self._walk.slots]

    @property
    def decoded(self) -> dict[str, Any]:
        """The JSON texts walked so far, decoded, by their text (for `rewrite`)."""
        return self._walk.decoded

    def slots(self, subtree: Subtree, wanted: Wanted | None = None, end: int = 0) -> list[Unplaced]:
        """Every string of `subtree`, or only the `wanted` ones; raises TooDeep.

        With `wanted`, `end` is how many keys and strings the subtree holds.
        `located` spells out the path of a string that matters.
        """
        block, pii = subtree.context[1:3]
        walk, path, start = self._walk, subtree.path, subtree.start
        walk.slots = []
        walk.wanted = wanted
        try:
            if start is None:
                walk.value(subtree.value, path, len(path), block, pii, False, 0, end)
            elif wanted is not None:
                walk.visit(subtree.value, path, len(path), block, pii, False, wanted, 0, end, start)
            else:
                for index, element in enumerate(subtree.value, start):
                    if isinstance(element, str):
                        walk.string(
                            element, Step(path, index), len(path) + 1, Handling.CONTENT, pii, False
                        )
                    else:
                        walk.value(element, Step(path, index), len(path) + 1, block, pii, False)
        finally:
            walk.wanted = None
        return walk.slots


def _strict_json(text: str) -> Any:
    """Decoded JSON, or None when the text is not JSON or repeats a key.

    With a repeated key the decoded value would hide the first copy, which
    the provider still receives: such text is scanned as it stands.
    """
    try:
        raw = text.encode("utf-8")
        value = orjson.loads(raw)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        value = None
    if isinstance(value, dict | list):
        # orjson keeps a repeated key's last copy: what it writes back equal
        # to the text but for whitespace had none (an OpenAI tool call's
        # arguments, as the SDKs write them). ~1 µs, not ~10.
        try:
            written = orjson.dumps(value)
        except orjson.JSONEncodeError:
            # Nesting orjson does not write (past 255 levels): read below.
            written = b""
        if same_but_whitespace(written, raw):
            return value
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return None


def same_but_whitespace(written: bytes, raw: bytes) -> bool:
    """Whether orjson's `written` JSON is `raw` but for whitespace, inside strings or out.

    Removing it moves no quote, so the two hold the same tokens: an object
    of `raw` that repeated a key would be one pair longer than `written`.
    """
    return written == raw or written.translate(None, _SPACE) == raw.translate(None, _SPACE)


def all_but_whitespace(written: list[bytes], raw: list[bytes]) -> list[bool]:
    """`same_but_whitespace` of each pair, in C maps: most are equal outright."""
    alike = list(map(operator.eq, written, raw))
    if all(alike):
        return alike
    spaced = map(bytes.translate, written, repeat(None), repeat(_SPACE))
    return list(map(operator.eq, spaced, map(bytes.translate, raw, repeat(None), repeat(_SPACE))))


_SPACE = b" \t\n\r"


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


def rewrite(
    body: dict[str, Any], changes: Sequence[tuple[Path, str]], decoded: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A copy of `body` with the strings at the given paths replaced.

    Values are replaced first and keys renamed last, deepest first, so every
    path still names the original keys when it is applied. Text encoded in a
    string (JSON, base64, JSON inside that JSON) is rewritten the same way
    and encoded again. `decoded`: JSON texts a walk decoded already
    (`BodyWalk.decoded`), by their text; they are not changed.
    """
    return _rewritten(body, changes, set(), decoded or {})  # type: ignore[no-any-return]


def _rewritten(
    node: Any, changes: Sequence[tuple[Path, str]], fresh: set[int], decoded: dict[str, Any]
) -> Any:
    root = _writable(node, fresh)
    encoded: dict[Path, tuple[Any, list[tuple[Path, str]]]] = {}
    renames: list[tuple[Path, str]] = []
    for path, text in changes:
        cut = next((i for i, part in enumerate(path) if part in _DECODED), None)
        if cut is not None:
            inner = encoded.setdefault(path[:cut], (path[cut], []))[1]
            inner.append((path[cut + 1 :], text))
        elif path and isinstance(path[-1], Key):
            renames.append((path, text))
        else:
            root = _set(root, path, text, fresh)
    for field, (marker, inner) in encoded.items():
        original = _get(node, field)
        if marker is BASE64_TEXT:
            # The decoded text is one string: the whole of it is the new text.
            value = _encode_base64_text(original, inner[-1][1])
        else:
            known = decoded.get(original)
            inside = known if known is not None else _strict_json(original)
            value = dumps_json(_rewritten(inside, inner, fresh, decoded))
        root = _set(root, field, value, fresh)
    # One rebuild per object, however many of its keys change: renaming
    # thousands of keys of one object one at a time would cost n² steps.
    objects: dict[Path, dict[str, str]] = {}
    for path, text in renames:
        objects.setdefault(path[:-1], {})[path[-1].name] = text
    for parent, names in sorted(objects.items(), key=lambda change: -len(change[0])):
        root = _rename(root, parent, names, fresh)
    return root


def encoded_source(body: dict[str, Any], path: Path) -> str | None:
    """The base64 string (or `data:` URL) whose text a slot at `path` holds; None if not decoded.

    JSON text on the way (a tool call's arguments) is decoded as the walk did.
    """
    if BASE64_TEXT not in path:
        return None
    node: Any = body
    for part in path[: path.index(BASE64_TEXT)]:
        node = _strict_json(node) if part is JSON_TEXT else node[part]
    return node if isinstance(node, str) else None


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


def _rename(root: Any, path: Path, names: dict[str, str], fresh: set[int]) -> Any:
    root, node = _parent(root, path, fresh)
    # Rebuild in place so each key keeps its position in the object.
    keys, values = list(node), list(node.values())
    node.clear()
    node.update(zip(map(names.get, keys, keys), values, strict=True))
    return root
