"""Read YAML into plain data while remembering where every key and value was.

PyYAML's composer keeps a mark on every node; we walk the node tree once,
building the Python value and a map from key path to the position of the
value, so that any later check can point at ``file:line:col``.

Policy files come from pull requests, so reading one is bounded: anchors
and aliases are refused (a 400-byte "billion laughs" file expands to
gigabytes when aliases are followed); the loader refuses a file over
``MAX_POLICY_BYTES`` before reading it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .diagnostics import Location

KeyPath = tuple[str | int, ...]

# Ten times the largest policy we have seen (a thousand projects); the
# parse stays well under a second.
MAX_POLICY_BYTES = 8 * 1024 * 1024


class YAMLSyntaxError(Exception):
    """The text is not YAML at all; carries the position the parser gave."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message


@dataclass
class MarkedDocument:
    """A parsed YAML document and the source position of every path in it."""

    file: str
    data: Any
    # Parser marks, turned into Locations only when a finding needs one: a
    # large policy has a hundred thousand nodes and a handful of findings.
    values: dict[KeyPath, yaml.Mark] = field(default_factory=dict)
    keys: dict[KeyPath, yaml.Mark] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> Location:
        """The position of the longest prefix of ``path`` that exists."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.values:
                return _location(self.file, self.values[prefix])
        return Location(self.file, 1, 1)

    def locate_key(self, path: KeyPath) -> Location:
        mark = self.keys.get(path)
        return _location(self.file, mark) if mark is not None else self.locate(path)


class _Builder(yaml.constructor.SafeConstructor):
    """Builds values for scalar nodes with YAML's safe tag resolution."""


# libyaml scans several times faster than PyYAML's pure-Python scanner (the
# bulk of validating a large policy) and its nodes carry the same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _location(file: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file, 1, 1)
    return Location(file, mark.line + 1, mark.column + 1)


def _refuse_aliases(text: str, file: str) -> None:
    """Raise at the first alias: each one may double the value it expands into."""
    if "&" not in text or "*" not in text:
        # No alias without an asterisk, and one without an anchor (`&`) fails
        # to compose anyway: skip the second parse.
        return
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
            raise YAMLSyntaxError(
                where,
                f"YAML aliases are not allowed in a policy (*{event.anchor}): write the "
                "value out in full; aliases can expand a small file into gigabytes",
            )


def load_marked(text: str, file: str) -> MarkedDocument:
    """Parse one YAML document. Raises :class:`YAMLSyntaxError` on bad YAML."""
    try:
        _refuse_aliases(text, file)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YAMLSyntaxError(_location(file, mark), f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YAMLSyntaxError(Location(file, 1, 1), f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YAMLSyntaxError(Location(file, 1, 1), "invalid YAML: nested too deeply") from None
    doc = MarkedDocument(file=file, data=None)
    if node is None:
        return doc
    builder = _Builder()
    try:
        doc.data = _build(node, (), doc, builder)
    except yaml.MarkedYAMLError as exc:
        raise YAMLSyntaxError(
            _location(file, exc.problem_mark), f"invalid YAML: {exc.problem}"
        ) from None
    except RecursionError:
        raise YAMLSyntaxError(Location(file, 1, 1), "invalid YAML: nested too deeply") from None
    return doc


def _build(node: yaml.Node, path: KeyPath, doc: MarkedDocument, builder: _Builder) -> Any:
    doc.values[path] = node.start_mark
    if isinstance(node, yaml.MappingNode):
        builder.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, doc, builder)
            if not isinstance(key, str | int | bool | float) or key is None:
                raise YAMLSyntaxError(
                    _location(doc.file, key_node.start_mark), "invalid YAML: keys must be scalars"
                )
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                raise YAMLSyntaxError(
                    _location(doc.file, key_node.start_mark),
                    f"duplicate key {key!r} in the same mapping",
                )
            doc.keys[(*path, key)] = key_node.start_mark
            result[key] = _build(value_node, (*path, key), doc, builder)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, builder) for i, item in enumerate(node.value)]
    return _construct(node, doc, builder)


def _construct(node: yaml.Node, doc: MarkedDocument, builder: _Builder) -> Any:
    if node.tag == "tag:yaml.org,2002:str":
        return node.value  # what the constructor would return, without its bookkeeping
    try:
        return builder.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:
        # PyYAML resolves `2027-13-45` as a date and then fails to build it.
        raise YAMLSyntaxError(
            _location(doc.file, node.start_mark), f"invalid value {node.value!r}: {exc}"
        ) from None
