"""Apply a project's guardrails to a decoded request body.

Every string of the body is read, keys included (see `_slots`). The secret
scanner runs first:

- `block`: a secret the client has not been told about refuses the request.
  A secret it has been told about (the same value, in the history it
  re-sends) is redacted instead, so the conversation can go on
  (`on_repeat: redact`, the default; `on_repeat: block` refuses again).
- `redact`: secrets become `[[SECRET_<RULE>_NNN]]` (never restored: the
  client does not need its own secret back, and a restore path would let a
  model-invented placeholder pull a secret into a response).
- `monitor`: secrets are recorded, and the provider receives them.

In every mode a secret in a string that must not change (thinking text,
text inside a PDF) cannot be removed, so `block` and `redact` refuse the
request. Reversible redaction then replaces personal data with
placeholders that the response restores.
"""

from __future__ import annotations

import binascii
import functools
import itertools
import operator
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

import orjson

from . import _anthropic, _openai
from ._budget import (
    PERSONAL_DATA,
    Allowance,
    Budget,
    TooManyValues,
    beyond,
    request_budgets,
    string_cost,
)
from ._jsonstrings import (
    JoinedStrings,
    NotOrjsonOutput,
    joined_strings,
    joined_texts,
    string_count,
)
from ._mask import SecretMask
from ._memory import SecretMemory
from ._patternset import JOIN, Ranked
from ._pii import PiiDetector
from ._placeholders import PlaceholderAllocator, PlaceholderMap
from ._redact import LITERAL_RULE, redact
from ._secrets import SecretScanner
from ._slots import (
    BASE64_TEXT,
    JSON_TEXT,
    BodyWalk,
    Key,
    Layout,
    Path,
    Slot,
    Subtree,
    TooDeep,
    Unplaced,
    Wanted,
    all_but_whitespace,
    decode_base64_text,
    encoded_source,
    located,
    rewrite,
)
from ._spec import Guardrails, SecretScanning, guardrails_for
from ._subtrees import SUBTREES, Hit, absolute, relative
from ._text import Candidates, Match

Schema = Literal["anthropic", "openai"]
Action = Literal["block", "redact", "monitor"]

_LAYOUTS: dict[str, Layout] = {"anthropic": _anthropic.LAYOUT, "openai": _openai.LAYOUT}
_PLAIN_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")
_UNSEEN: Any = object()
_UNEXAMINED: Any = object()
_UNBOUNDED = Allowance(1 << 60, PERSONAL_DATA.bytes_per_candidate)
# Bodies with at least this many characters of new strings are read at once (`_wanted`).
GATHER_CHARS = 4096
# Strings this long (bytes of JSON) are scanned on their own, not joined.
LONG_BYTES = 16384
_RULE = attrgetter("rule")
_JOIN_BYTES = JOIN.encode()
Finder = SecretScanner | PiiDetector


@dataclass(frozen=True, slots=True)
class Finding:
    """What was found where, how often and what was done; never the value."""

    kind: Literal["secret", "pii"]
    rule: str
    location: str
    count: int
    action: Action = "redact"


@dataclass(frozen=True, slots=True)
class Block:
    """Why a request was refused: the rule, where it matched, and what the client can do."""

    rule: str
    location: str
    removable: bool = True
    repeats_redacted: bool = False

    @property
    def message(self) -> str:
        found = (
            f"PromptGate blocked this request: secret detected by rule {self.rule} "
            f"in {self.location}."
        )
        if not self.removable:
            return (
                f"{found} It sits where PromptGate cannot change it (thinking text or an "
                "attached file it must pass on unaltered). Remove it from the conversation "
                "(in Claude Code: /rewind or /clear) and try again."
            )
        if self.repeats_redacted:
            return (
                f"{found} The provider did not receive it. The secret is now removed from "
                "this conversation: send your message again and it goes through without it."
            )
        return f"{found} Remove the secret and try again."

    def __str__(self) -> str:
        return self.message


class Abandoned(Exception):
    """The caller stopped waiting for this request; the scan stopped part way."""


class UnreadableBody(ValueError):
    """The body cannot be read safely (too deep, too dense in values); answer 400."""


@dataclass(frozen=True, slots=True)
class GuardrailOutcome:
    """The body to forward (the input object when unchanged), and what happened.

    The body stays out of repr: it holds the very values guardrails protect.
    """

    body: dict[str, Any] = field(repr=False)
    changed: bool
    blocked: Block | None
    findings: tuple[Finding, ...]
    placeholders: PlaceholderMap
    # Monitor mode: what turns the logged prompt and response free of the
    # secrets the provider still receives.
    log_mask: SecretMask = field(default_factory=lambda: SecretMask(()))


def apply_request_guardrails(
    schema: Schema,
    body: dict[str, Any],
    spec: dict[str, Any] | Guardrails | None,
    memory: SecretMemory | None = None,
    scope: str = "",
    stop: Callable[[], bool] | None = None,
) -> GuardrailOutcome:
    """Scan, block or redact a request body; `spec` is the bundle's `guardrails`.

    `memory` remembers, per `scope`, the secrets a block already reported;
    without it every secret blocks. `stop` is asked between parts of the
    body whether the caller still waits. Raises UnreadableBody, Abandoned.
    """
    guardrails = guardrails_for(spec)
    redaction, scanning = guardrails.redaction, guardrails.secrets
    if redaction is None and scanning is None:
        return GuardrailOutcome(body, False, None, (), PlaceholderMap())
    include_system = redaction.include_system if redaction else False
    try:
        parts = BodyWalk(body, _LAYOUTS[schema], include_system)
        hits = _hits(parts, guardrails, schema, stop or _waiting)
    except (TooDeep, TooManyValues) as exc:
        raise UnreadableBody(str(exc)) from None
    findings = _Findings(guardrails)

    slots = [hit.slot for hit in hits]
    secrets = [hit.secrets for hit in hits]
    monitored: list[tuple[Slot, tuple[Match, ...]]] = []
    if scanning is not None:
        block = _decide(
            scanning.mode, scanning.on_repeat, slots, secrets, memory, scope, findings, monitored
        )
        if block is not None:
            return GuardrailOutcome(body, False, block, findings.result(), PlaceholderMap())

    # Placeholders are handed out here, per request and in document order,
    # never cached: the numbering of a history depends only on the history.
    allocator = PlaceholderAllocator()
    changes: list[tuple[Path, str]] = []
    for slot, secret_matches, hit in zip(slots, secrets, hits, strict=True):
        findings.add("pii", slot, hit.pii, "redact")
        if secret_matches or hit.pii:
            text = redact(slot.text, (secret_matches, hit.pii), allocator)
            if text != slot.text:
                changes.append((slot.path, text))
    new_body = rewrite(body, changes, parts.decoded) if changes else body
    return GuardrailOutcome(
        new_body,
        bool(changes),
        None,
        findings.result(),
        allocator.placeholder_map(),
        _log_mask(body, monitored),
    )


def _log_mask(body: dict[str, Any], monitored: list[tuple[Slot, tuple[Match, ...]]]) -> SecretMask:
    """What keeps the monitored secrets out of the log, in base64 text too (encoded, whole)."""
    encoded = [
        (source, found[0])
        for slot, found in monitored
        if (source := encoded_source(body, slot.path)) is not None
    ]
    return SecretMask((match for _, found in monitored for match in found), encoded)


def _waiting() -> bool:
    return False


def _hits(
    parts: BodyWalk, guardrails: Guardrails, schema: Schema, stop: Callable[[], bool]
) -> list[Hit]:
    """The strings of the body that hold something, in document order.

    A subtree seen before (same bytes, same context) is not walked again;
    the rest is read at once (`_wanted`) and only what a match touches is
    walked.
    """
    budgets = request_budgets(guardrails.secrets is not None)
    known: list[tuple[Slot | Subtree, Any, tuple[Hit, ...] | None]] = []
    for part in parts.parts:
        if isinstance(part, Slot):
            known.append((part, None, None))
            continue
        try:
            key: tuple[Any, bytes] | None = (
                (guardrails.owner, schema, part.context),
                orjson.dumps(part.value),
            )
        except orjson.JSONEncodeError:
            # Not JSON orjson writes (too deep, a lone surrogate): walk it uncached.
            key = None
        known.append((part, key, SUBTREES.get(key) if key is not None else None))
    fresh = [(part, key) for part, key, found in known if found is None]
    # Roughly the characters of new text: a small body is walked as it is.
    new_size = sum(
        len(part.text) if isinstance(part, Slot) else len(key[1]) if key else GATHER_CHARS
        for part, key in fresh
    )
    joint = (
        _wanted(fresh, guardrails, budgets, _LAYOUTS[schema]) if new_size >= GATHER_CHARS else None
    )
    placed = iter(joint[1] if joint is not None else [None] * len(fresh))
    # Every new string is found first, and every candidate in them counted,
    # before any is examined: text denser than its allowance is refused
    # after the count alone.
    found_parts: list[tuple[Subtree | Slot, Any, tuple[Hit, ...] | list[Slot | Unplaced]]] = []
    for part, key, cached in known:
        if stop():
            raise Abandoned("the request was abandoned while it was scanned")
        if cached is not None:
            found_parts.append((part, key, cached))
            continue
        at = next(placed)
        if isinstance(part, Slot):
            wanted = joint is None or at is None or at[0] in joint[0].indexes
            found_parts.append((part, key, [part] if wanted else []))
            continue
        if joint is None or at is None:
            walked = parts.slots(part)
        elif joint[0].holds(*at):
            first, end = at
            walked = parts.slots(part, joint[0].between(first, end), end - first)
        else:
            walked = []
        found_parts.append((part, key, list(walked)))
    scans = _Scans(guardrails, budgets, joint[2] if joint is not None else {})
    for _, _, strings in found_parts:
        if isinstance(strings, list) and strings:
            if stop():
                raise Abandoned("the request was abandoned while it was scanned")
            for string in strings:
                scans.count(string)
    hits: list[Hit] = []
    for part, key, strings in found_parts:
        if strings and stop():
            raise Abandoned("the request was abandoned while it was scanned")
        if isinstance(strings, tuple):
            assert isinstance(part, Subtree)
            hits.extend(absolute(strings, part.path, part.start))
            continue
        fresh_hits = [h for s in strings if (h := scans.hit(s)) is not None]
        if isinstance(part, Subtree) and key is not None:
            SUBTREES.put(key, relative(fresh_hits, part.path, part.start))
        hits.extend(fresh_hits)
    return hits


class _Scans:
    """The scans of one request's new strings: every candidate counted, then examined.

    Each distinct string is counted once per detector: a repeated string
    earns and spends nothing more. Personal data is counted in every string
    but looked for only where it is redacted.
    """

    def __init__(
        self,
        guardrails: Guardrails,
        budgets: tuple[Budget, Budget],
        known: dict[int, dict[str, Ranked]],
    ) -> None:
        self._secrets = guardrails.secrets.scanner if guardrails.secrets is not None else None
        redaction = guardrails.redaction
        self._detector = redaction.detector if redaction is not None else None
        self._budgets = budgets
        # Per detector, the matches of strings the joined scan told (`_exact_counts`).
        self._known = (
            known.get(id(self._secrets), {}) if self._secrets is not None else {},
            known.get(id(self._detector), {}) if self._detector is not None else {},
        )
        self._found: tuple[dict[str, tuple[Match, ...] | Candidates], ...] = ({}, {})
        # Keys and short values repeat a lot ("type", "description"): one
        # lookup per distinct string instead of one per occurrence.
        self._seen: dict[tuple[str, bool], Hit | None] = {}

    def count(self, string: Slot | Unplaced) -> None:
        """Count the candidates of `string` (in document order); raises TooManyValues."""
        text = string.text
        if self._secrets is not None and text not in self._found[0]:
            known = self._known[0].get(text)
            if known is not None and not known:
                # Nothing there, as the joined scan told: what its count
                # would do, without looking it up or remembering it.
                self._budgets[0].earn(_utf8_size(text))
                self._found[0][text] = ()
            else:
                self._found[0][text] = self._secrets.count(text, self._budgets[0], known)
        # Every string, as the joined strings are counted (`_touched`): a
        # refusal there is one the count here would reach.
        if self._detector is not None and text not in self._found[1]:
            known = self._known[1].get(text)
            if known is not None and not known:
                self._budgets[1].earn(_utf8_size(text))
                self._found[1][text] = ()
            elif string.pii:
                self._found[1][text] = self._detector.count(text, self._budgets[1], known)
            else:
                self._detector.count_only(text, self._budgets[1], known)
                self._found[1][text] = _UNEXAMINED

    def hit(self, string: Slot | Unplaced) -> Hit | None:
        """What a counted `string` holds, or None."""
        known = self._seen.get((string.text, string.pii), _UNSEEN)
        if known is not _UNSEEN:
            return None if known is None else Hit(located(string), known.secrets, known.pii)
        # Most strings hold nothing: their counts are their results already.
        secrets = self._found[0].get(string.text, ())
        if isinstance(secrets, Candidates) or secrets is _UNEXAMINED:
            secrets = self._examined(0, string.text)
        pii = self._found[1].get(string.text, ()) if string.pii else ()
        if isinstance(pii, Candidates) or pii is _UNEXAMINED:
            pii = self._examined(1, string.text)
        hit = Hit(located(string), secrets, pii) if secrets or pii else None
        self._seen[(string.text, string.pii)] = hit
        return hit

    def _examined(self, which: int, text: str) -> tuple[Match, ...]:
        found = self._found[which][text]
        finder: Finder | None = self._secrets if which == 0 else self._detector
        assert finder is not None
        if found is _UNEXAMINED:
            # Counted where nothing was looked for, and now wanted: paid for already.
            found = finder.count(text, Budget(_UNBOUNDED))
        if not isinstance(found, Candidates):
            return found
        matches = finder.examine(found, self._budgets[which])
        self._found[which][text] = matches
        return matches


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _wanted(
    fresh: list[tuple[Slot | Subtree, tuple[Any, bytes] | None]],
    guardrails: Guardrails,
    budgets: tuple[Budget, Budget],
    layout: Layout,
) -> tuple[Wanted, list[tuple[int, int] | None], dict[int, dict[str, Ranked]]] | None:
    """The strings of `fresh` parts that need a walk and a scan of their own.

    Walking a string costs a few µs of Python, so a body of 100,000 short
    strings would cost a second: the strings are read at once instead from
    the parts' JSON (`_jsonstrings`), joined (`JOIN`), and every pattern
    runs over the whole. Each string a match touches, and each the walk
    decodes, is then walked and scanned on its own, as every string is
    otherwise; one that no match touches holds nothing (see
    `PatternSet.joined_spans`). Also returns, per part, the indexes of its
    first string and of the one after its last (None: walk it whole). None
    when everything is walked: a small body, or a pattern anchored to the
    whole text. Also returns, per finder (by `id`), what the scans of
    touched strings alone find where the joined matches tell it
    (`_exact_counts`). Raises TooManyValues when the distinct strings hold more
    than twice the matches the request allows examining (walking them all
    to count exactly would cost ~300 ms per MB; within twice, the strings
    touched are counted exactly before any is examined, `_Scans`).
    """
    detectors = [d for d in (guardrails.secrets, guardrails.redaction) if d is not None]
    finders = [
        (d.scanner if isinstance(d, SecretScanning) else d.detector, budget)
        for d, budget in zip(detectors, _budgets_of(guardrails, budgets), strict=True)
    ]
    if not all(finder.joinable for finder, _ in finders):
        return None
    values: list[tuple[Any, bytes]] = []
    read: list[bool] = []
    for part, key in fresh:
        if isinstance(part, Slot):
            values.append((part.text, b""))
        elif key is not None:
            values.append((part.value, key[1]))
        read.append(isinstance(part, Slot) or key is not None)
    try:
        strings = joined_strings(values, LONG_BYTES, layout.decoded_keys)
    except NotOrjsonOutput:
        return None
    data = strings.data
    if len(data) < GATHER_CHARS:
        return None
    count = len(strings.starts) - 1
    text = len(data) + len(JOIN) - count * len(JOIN)
    firsts = iter(itertools.pairwise(strings.firsts))
    placed = [next(firsts) if was_read else None for was_read in read]
    # A part not read here is walked whole and earns more than `text` shows.
    exact: list[dict[str, Ranked]] = []
    indexes = _touched(strings, finders, text, layout, top=all(read), exact=exact)
    starts = strings.starts
    # What the strings no walk reads earn, as their scans would (not the joins).
    skipped = text - sum(starts[i + 1] - starts[i] - len(JOIN) for i in indexes)
    for budget in budgets:
        budget.earn(skipped)
    known = dict(zip((id(finder) for finder, _ in finders), exact, strict=True))
    return Wanted(indexes, strings.sizes), placed, known


def _touched(
    strings: JoinedStrings,
    finders: list[tuple[Finder, Budget]],
    text: int,
    layout: Layout,
    top: bool = False,
    exact: list[dict[str, Ranked]] | None = None,
    early: _Early | None = None,
) -> set[int]:
    """The indexes of the strings a walk must read: what a match touches, and more.

    A long string is scanned on its own anyway (its walk costs nothing next
    to its scan): it is left out of the joined text, not read twice. String
    values of the keys the walk may decode, and `data:` URLs, are walked
    too, except JSON that is read here the same way and holds nothing
    (`_json_touched`). With `top` (the body's own strings), raises
    TooManyValues when the walk's count would (`_Early`), also counting
    into `early` the text it decodes from them (JSON, base64). `exact`
    receives, per finder, what a scan of each touched string alone finds
    where the joined matches tell it (`_exact_counts`).
    """
    data = strings.data
    indexes = set(strings.long)
    lowered = data.lower()
    at = 0 if lowered.startswith(b"data:") else lowered.find(b"\ndata:")
    while at >= 0:
        indexes.add(strings.string_at(at + 1))
        at = lowered.find(b"\ndata:", at + 1)
    decoded = set(indexes).union(*strings.under.values())
    if top:
        early = _Early(finders)
        early.size += text + strings.long_size
    listed: list[list[tuple[int, int]]] = []
    rankings: list[Ranked | None] = []
    for finder, budget in finders:
        # Listing the matches costs ~1 µs each: past twice the allowance the
        # text is refused without them.
        ranked = finder.joined_spans(data, 2 * budget.left_with(text))
        if ranked is not None:
            ranked = _unled(strings, finder, ranked)
        rankings.append(ranked)
        if ranked is None:
            listed.append(_distinct_spans(strings, finder, budget))
        else:
            listed.append([span for _, spans in ranked for span in spans])
            if early is not None:
                early.add(strings, finder, ranked, decoded)
    if top:
        assert early is not None
        early.refuse()
    starts = strings.starts
    for spans in listed:
        for start, end in spans:
            first = bisect_right(starts, start) - 1
            last = first if end <= starts[first + 1] else bisect_right(starts, end - 1) - 1
            indexes.update(range(first, last + 1))
    long = set(strings.long)
    for key, found in strings.under.items():
        # Every value the walk decodes, touched or not: what the text in it
        # holds counts towards refusing the body early.
        candidates = sorted(set(found) - long)
        if not candidates:
            continue
        if key in layout.json_keys:
            indexes.update(_json_touched(strings, candidates, finders, layout, exact, early))
        else:
            walked = _base64_touched(strings, candidates, finders, layout, exact, early, indexes)
            indexes.update(walked)
    if top and strings.under:
        assert early is not None
        early.refuse()
    if exact is not None:
        touched = indexes - long
        if not exact:
            exact.extend({} for _ in finders)
        for (finder, _), ranked, counts in zip(finders, rankings, exact, strict=True):
            if ranked is not None:
                counts.update(_exact_counts(strings, finder, ranked, touched))
    return indexes


def _exact_counts(
    strings: JoinedStrings, finder: Finder, ranked: Ranked, touched: set[int]
) -> dict[str, Ranked]:
    """Per touched string (its text), the matches its own scan finds, where the joined ones tell.

    As in `_sure_count`: within a string, the joined search of a pattern
    without `^`/`$` is the string's own search, up to a match that runs
    into `JOIN`; and a string no joined match touches has no match alone.
    So for each touched string that no match of an anchored pattern and no
    match running into `JOIN` touches, its own matches are the joined ones
    inside it, moved to its start. Its count then costs no RE2 pass.
    """
    starts, data, size = strings.starts, strings.data, len(JOIN)
    inside: dict[int, list[tuple[int, list[tuple[int, int]]]]] = {}
    unclear: set[int] = set()
    for rank, spans in ranked:
        exact = finder.counted_gate(rank) is not None
        for start, end in spans:
            index = bisect_right(starts, start) - 1
            if not exact or end > starts[index + 1] - size:
                unclear.update(range(index, bisect_right(starts, max(end - 1, start))))
                continue
            shift = starts[index]
            found = inside.setdefault(index, [])
            if not found or found[-1][0] != rank:
                found.append((rank, []))
            found[-1][1].append((start - shift, end - shift))
    counts: dict[str, Ranked] = {}
    for index in touched - unclear:
        text = data[starts[index] : starts[index + 1] - size].decode("utf-8", "surrogatepass")
        counts[text] = inside.get(index, [])
    return counts


def _unled(strings: JoinedStrings, finder: Finder, ranked: Ranked) -> Ranked:
    """`ranked`, a `lead` entity's matches that took the newline ending `JOIN` moved past it.

    Alone, such a string's own `(?m:^)` starts the same match at its first
    character: the match is that string's, not the one before.
    """
    starts = strings.starts
    led: Ranked = []
    for rank, spans in ranked:
        if finder.led(rank):
            # At the newline ending `JOIN` when a string starts right after it.
            spans = [(start + _starts_at(starts, start + 1), end) for start, end in spans]
        led.append((rank, spans))
    return led


def _starts_at(starts: list[int], offset: int) -> bool:
    """Whether a string begins at byte `offset`."""
    at = bisect_left(starts, offset)
    return at < len(starts) - 1 and starts[at] == offset


class _Early:
    """The joined count of a body that the walk's count surely reaches: past the allowance, refused.

    Over the body's own strings and the strings of the JSON read inside
    them (which the walk decodes and reads whole); a text counts once per
    finder wherever it appears, as the walk counts it.
    """

    def __init__(self, finders: list[tuple[Finder, Budget]]) -> None:
        self._budgets = [budget for _, budget in finders]
        self._finders = [id(finder) for finder, _ in finders]
        self._counts = [0] * len(finders)
        self._owners: list[dict[bytes, tuple[int, int]]] = [{} for _ in finders]
        self._cost = 0.0
        self._read = 0
        self.size = 0

    def add(
        self, strings: JoinedStrings, finder: Finder, ranked: Ranked, decoded: set[int]
    ) -> None:
        """Count what `finder` surely finds in `strings` (`_sure_count`)."""
        at = self._finders.index(id(finder))
        # Which strings these are, for `owners` (an `id` could be reused).
        self._read += 1
        count, cost = _sure_count(strings, finder, ranked, decoded, self._owners[at], self._read)
        self._counts[at] += count
        self._cost += cost

    def refuse(self) -> None:
        """Raise TooManyValues when the count is past what the text earns."""
        sure = list(zip(self._budgets, self._counts, strict=True))
        if sure and beyond(self.size, sure, self._cost):
            raise sure[0][0].exceeded()


def _sure_count(
    strings: JoinedStrings,
    finder: Finder,
    ranked: Ranked,
    decoded: set[int],
    owners: dict[bytes, tuple[int, int]],
    tag: int = 0,
) -> tuple[int, float]:
    """How many of the joined matches `ranked` the walk's count surely counts too.

    A match counts once per distinct string it lies within (the walk counts
    a repeated string once), in a string the walk reads as it stands (not
    decoded), of a pattern without `^`/`$`, with a keyword of its rule in it.
    Within such a string the joined search is the string's own search, up
    to a match that runs into `JOIN` (not counted, as the string's own may
    differ there); one that runs in from before leaves the rest of that
    string uncounted. So the walk counts at least this many: a refusal on
    it is one the walk would reach, made before any string is walked.
    Also returns what the distinct strings holding them cost beyond them
    (`string_cost`), which the walk's count charges as well. `owners`
    holds the texts counted so far, in these strings (`tag`) or others, and where.
    """
    data, starts = strings.data, strings.starts
    owned = len(owners)
    sure = 0
    for rank, spans in ranked:
        gate = finder.counted_gate(rank)
        if gate is None:
            continue
        # Strings below this index: a match of this pattern ran into them.
        clear_from = 0
        for start, end in spans:
            index = bisect_right(starts, start) - 1
            if end > starts[index + 1] - len(JOIN):
                # Into `JOIN`, maybe into the strings after: their own
                # searches may part ways with this one.
                clear_from = bisect_right(starts, end - 1)
                continue
            if index < clear_from or index in decoded:
                continue
            if gate and not any(k in data[start:end].lower() for k in gate):
                continue
            text = data[starts[index] : starts[index + 1] - len(JOIN)]
            if owners.setdefault(text, (tag, index)) == (tag, index):
                sure += 1
    # Dicts keep insertion order: the texts this call added come last.
    added = itertools.islice(owners, owned, None)
    return sure, sum(map(string_cost, map(len, added)))


def _distinct_spans(
    strings: JoinedStrings, finder: Finder, budget: Budget
) -> list[tuple[int, int]]:
    """Each string that a match in the distinct strings touches, every copy of it, whole.

    A walk scans a repeated string once and earns its allowance once: strings
    whose copies hold more than twice the allowance may still be within it.
    Raises TooManyValues when the distinct strings hold more than twice too.
    """
    data, starts = strings.data, strings.starts
    pieces = data.split(_JOIN_BYTES)
    if len(pieces) != len(starts) - 1:
        # A string holds `JOIN` itself: cut where the strings are.
        pieces = [data[a : b - len(_JOIN_BYTES)] for a, b in itertools.pairwise(starts)]
    distinct = list(dict.fromkeys(pieces))
    if len(distinct) == len(pieces):
        raise budget.exceeded()
    joined = _JOIN_BYTES.join(distinct)
    size = len(joined) + len(JOIN) - len(distinct) * len(JOIN)
    ranked = finder.joined_spans(joined, 2 * budget.left_with(size))
    if ranked is None:
        raise budget.exceeded()
    ends = list(itertools.accumulate(len(piece) + len(JOIN) for piece in distinct))
    touched = set()
    for start, end in (span for _, spans in ranked for span in spans):
        first = bisect_right(ends, start)
        touched.update(distinct[first : bisect_right(ends, max(end - 1, start)) + 1])
    return [
        (starts[index], starts[index + 1] - len(JOIN))
        for index, piece in enumerate(pieces)
        if piece in touched
    ]


# `base64.b64decode(raw, validate=True)` without its Python layers.
_BASE64 = functools.partial(binascii.a2b_base64, strict_mode=True)


def _base64_touched(
    strings: JoinedStrings,
    candidates: list[int],
    finders: list[tuple[Finder, Budget]],
    layout: Layout,
    exact: list[dict[str, Ranked]] | None = None,
    early: _Early | None = None,
    walked: Collection[int] = (),
) -> list[int]:
    """Which of the `candidates` (strings the walk may decode as base64) need that walk.

    Base64 that holds UTF-8 text is decoded here and its text scanned,
    joined; only text with a match is walked. What is not base64 is
    scanned as it stands in the joined text already, and binary holds
    nothing a text rule can read.
    """
    data, starts = strings.data, strings.starts
    pieces = [data[starts[index] : starts[index + 1] - len(JOIN)] for index in candidates]
    try:
        # All plain base64 of UTF-8 text, the usual case: decoded in C.
        texts = list(map(bytes.decode, map(_BASE64, pieces)))
        sources = candidates
    except ValueError:
        # A `data:` URL, binary, or no base64 at all: one by one.
        texts, sources = [], []
        for index, raw in zip(candidates, pieces, strict=True):
            try:
                text = decode_base64_text(raw.decode("utf-8"))
            except ValueError:
                continue
            if text is not None:
                texts.append(text)
                sources.append(index)
    if not texts:
        return []
    inner = joined_texts(texts, LONG_BYTES)
    size = len(inner.data) + len(JOIN) - (len(inner.starts) - 1) * len(JOIN)
    # The walk decodes every such value it reaches and counts the text in
    # it (`_slots._Walk.string`): a match it surely counts counts here too,
    # and the text of each it reaches (one with a match) earns.
    touched = _touched(inner, finders, size, layout, exact=exact, early=early)
    if early is not None:
        # What the walk reads: the text in each value it reaches (`walked`
        # already, or touched here).
        starts, long = inner.starts, set(inner.long)
        read = [i for i, source in enumerate(sources) if i in touched or source in walked]
        early.size += sum(starts[i + 1] - starts[i] - len(JOIN) for i in read)
        # A long string is not in the joined text: at most 4 bytes a character.
        early.size += 4 * sum(len(texts[i]) for i in read if i in long)
    return [sources[i] for i in touched]


_NOT_JSON: Any = object()


def _loaded(raw: bytes) -> Any:
    """`raw` read as JSON, or `_NOT_JSON`."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _written(value: Any) -> bytes:
    """`value` as orjson writes it; empty if it cannot (`_NOT_JSON`, nesting past 255)."""
    try:
        return b"" if value is _NOT_JSON else orjson.dumps(value)
    except orjson.JSONEncodeError:
        return b""


def _json_touched(
    strings: JoinedStrings,
    candidates: list[int],
    finders: list[tuple[Finder, Budget]],
    layout: Layout,
    exact: list[dict[str, Ranked]] | None = None,
    early: _Early | None = None,
) -> list[int]:
    """Which of the `candidates` (strings the walk decodes as JSON) need that walk.

    OpenAI sends each tool call's arguments as JSON text: an agent's
    history holds thousands, and a walk of each costs ~60 µs. JSON that
    orjson writes back as it was but for whitespace (so no key repeats) has
    its strings read and scanned here, joined, like the body's; only those with a match
    (or something to decode) are walked. Anything else is walked as before.
    """
    data, starts = strings.data, strings.starts
    pieces = [data[starts[index] : starts[index + 1] - len(JOIN)] for index in candidates]
    # Each step over all of them at once in C maps: a Python loop per tool
    # call would cost more than reading its strings.
    try:
        # All of it JSON, the usual case: read and written back in C.
        decoded = list(map(orjson.loads, pieces))
    except orjson.JSONDecodeError:
        decoded = [_loaded(piece) for piece in pieces]
    try:
        written = list(map(orjson.dumps, decoded))
    except orjson.JSONEncodeError:
        # `_NOT_JSON`, or nesting orjson does not write (past 255 levels).
        written = list(map(_written, decoded))
    alike = all_but_whitespace(written, pieces)
    containers = list(map(isinstance, decoded, itertools.repeat(dict | list)))
    # Read here: containers written back alike (never empty: `_written`'s "cannot").
    read = list(map(operator.and_, map(operator.and_, containers, alike), map(bool, written)))
    sources = list(itertools.compress(candidates, read))
    kept = list(itertools.compress(written, read))
    # The rest is walked, but for text that is not a container: the walk
    # scans that as it stands, as the joined strings did.
    walked = [
        index
        for index, value, container in itertools.compress(
            zip(candidates, decoded, containers, strict=True), map(operator.not_, read)
        )
        if container or value is _NOT_JSON
    ]
    if sources:
        # All of them as one JSON array: one read, not one per value.
        joined = b"[" + b",".join(kept) + b"]"
        inner = joined_strings(
            [(list(itertools.compress(decoded, read)), joined)], LONG_BYTES, layout.decoded_keys
        )
        if b'\\"' in joined:
            counts: Iterable[int] = map(string_count, kept)
        else:
            # No escaped quote: every quote is a string's own.
            quotes = map(bytes.count, kept, itertools.repeat(b'"'))
            counts = map(operator.rshift, quotes, itertools.repeat(1))
        firsts = list(itertools.accumulate(counts, initial=0))
        text = len(inner.data) + len(JOIN) - (len(inner.starts) - 1) * len(JOIN)
        # The walk reads every string of such JSON, as here: a match it
        # surely counts counts towards refusing the body (`_Early`); the
        # text of all of them earns (more than the walk's, which reads only
        # the JSON with a match: the count stays one the walk reaches).
        if early is not None:
            early.size += text + inner.long_size
        touched = _touched(inner, finders, text, layout, exact=exact, early=early)
        walked.extend(sources[bisect_right(firsts, i) - 1] for i in touched)
    return walked


def _budgets_of(guardrails: Guardrails, budgets: tuple[Budget, Budget]) -> list[Budget]:
    """The budget of each detector that is on, secrets first."""
    return [
        budget
        for detector, budget in zip(
            (guardrails.secrets, guardrails.redaction), budgets, strict=True
        )
        if detector is not None
    ]


def _decide(
    mode: Action,
    on_repeat: str,
    slots: list[Slot],
    secrets: list[tuple[Match, ...]],
    memory: SecretMemory | None,
    scope: str,
    findings: _Findings,
    monitored: list[tuple[Slot, tuple[Match, ...]]],
) -> Block | None:
    """Record the secret findings; return a Block, or keep in `secrets` what to redact.

    Secrets that go on to the provider (monitor mode) are added to `monitored`, with their slot.
    """
    block: Block | None = None
    fresh: list[str] = []
    for index, (slot, found) in enumerate(zip(slots, secrets, strict=True)):
        if not found:
            continue
        if mode == "monitor":
            findings.add("secret", slot, found, "monitor")
            monitored.append((slot, found))
            secrets[index] = ()
            continue
        if slot.fixed:
            findings.add("secret", slot, found, "block")
            block = block or Block(found[0].rule, findings.location(slot.path), removable=False)
            continue
        if mode == "redact":
            findings.add("secret", slot, found, "redact")
            continue
        known = [
            m
            for m in found
            if on_repeat == "redact" and memory is not None and memory.knows(scope, m.value)
        ]
        new = [m for m in found if m not in known]
        findings.add("secret", slot, tuple(known), "redact")
        findings.add("secret", slot, tuple(new), "block")
        if new:
            fresh.extend(m.value for m in new)
            if block is None:
                block = Block(
                    new[0].rule,
                    findings.location(slot.path),
                    repeats_redacted=on_repeat == "redact" and memory is not None,
                )
    if block is not None and memory is not None:
        for value in fresh:
            memory.remember(scope, value)
    return block


class _Findings:
    """Counts per (kind, rule, location, action), and locations that never show a value."""

    def __init__(self, guardrails: Guardrails) -> None:
        self._guardrails = guardrails
        self._counts: dict[tuple[Literal["secret", "pii"], str, str, Action], int] = {}
        # Field names repeat in every location ("messages", "content", "text").
        self._shown_keys: dict[str, bool] = {}

    def add(
        self, kind: Literal["secret", "pii"], slot: Slot, found: tuple[Match, ...], action: Action
    ) -> None:
        if not found:
            return
        where = self.location(slot.path)
        for rule, count in Counter(map(_RULE, found)).items():
            if rule != LITERAL_RULE:
                key = (kind, rule, where, action)
                self._counts[key] = self._counts.get(key, 0) + count

    def result(self) -> tuple[Finding, ...]:
        return tuple(
            Finding(kind, rule, where, n, action)
            for (kind, rule, where, action), n in self._counts.items()
        )

    def location(self, path: Path) -> str:
        """`messages[3].content[0].input.city`; a key that may hold data shows as `<key>`."""
        parts: list[str] = []
        for part in path:
            if isinstance(part, int):
                parts.append(f"[{part}]")
            elif part is JSON_TEXT:
                continue
            elif part is BASE64_TEXT:
                parts.append(" (decoded)")
            elif isinstance(part, Key):
                parts.append(" (key)")
            else:
                parts.append("." + (part if self._shown(part) else "<key>"))
        return "".join(parts).lstrip(".") or "(body)"

    def _shown(self, key: str) -> bool:
        shown = self._shown_keys.get(key)
        if shown is None:
            shown = self._shown_keys[key] = self._may_show(key)
        return shown

    def _may_show(self, key: str) -> bool:
        if not _PLAIN_NAME.fullmatch(key):
            return False
        guardrails = self._guardrails
        if guardrails.secrets is not None and guardrails.secrets.scanner.scan(key):
            return False
        redaction = guardrails.redaction
        return redaction is None or not any(
            m.rule != LITERAL_RULE for m in redaction.detector.detect(key)
        )
