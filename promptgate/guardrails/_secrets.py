"""The secret scanner: built-in and policy rules, keyword gates, entropy, allowlists.

Well-known documentation values (`_examples`) are never findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial

from ._budget import SECRETS, Budget
from ._entropy import shannon_entropy
from ._examples import is_documentation_example
from ._findings import Findings, count_candidates
from ._patternset import PatternSet, Ranked, Spans, compile_regex
from ._secret_rules import SecretRule
from ._text import Candidates, Match, without_overlaps

# Template syntax that names a secret kept elsewhere: `${X}`, `$(cmd)`, `$X`,
# `{{ x }}`, `{% x %}`, `%(x)s`, `%X%`, `<password>`: markers anywhere in the
# value, or a whole value of one of three shapes. Python's `re` is safe here:
# anchored, no nested repetition.
_TEMPLATE_MARKERS = ("${", "$(", "{{", "{%", "%(")
_TEMPLATE_VALUE = re.compile(r"(?:\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_]+%|<[^>]*>)$")
# Checked in C, not per character in Python: values can be long.
_ASCII_DIGIT = re.compile(r"[0-9]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Entropy is measured on a value's first characters: a credential is shorter,
# and counting the characters of a megabyte would cost ~90 ms.
ENTROPY_SAMPLE = 4096


def secret_label(rule_id: str) -> str:
    """Placeholder label of a rule: `aws-access-key-id` -> `SECRET_AWS_ACCESS_KEY_ID`."""
    return "SECRET_" + "".join(c if c.isalnum() else "_" for c in rule_id).upper()


class SecretScanner:
    """Finds secrets in a string; results are cached per string."""

    def __init__(
        self,
        rules: Sequence[SecretRule],
        allowlist: Sequence[str] = (),
        keys: Sequence[str] | None = None,
    ) -> None:
        self.rules = tuple(rules)
        rule_keys = keys or [f"secret_scanner.rules[{r.id}].regex" for r in self.rules]
        self._patterns = PatternSet([r.regex for r in self.rules], rule_keys)
        self._labels = [secret_label(r.id) for r in self.rules]
        self._keywords = [tuple(k.encode() for k in r.keywords) for r in self.rules]
        self._allowlist = [
            compile_regex(a, f"secret_scanner.allowlist[{i}]") for i, a in enumerate(allowlist)
        ]
        self._findings = Findings()

    def scan(self, text: str, budget: Budget | None = None) -> tuple[Match, ...]:
        """Non-overlapping secrets in `text`, in order of position.

        Raises TooManyValues when `text` holds more candidates than the
        request's `budget` allows examining.
        """
        if budget is None:
            # No request to charge: what was found before is the answer.
            known = self._findings.found(text)
            if known is not None:
                return known
            budget = Budget(SECRETS)
        counted = self.count(text, budget)
        return self.examine(counted, budget) if isinstance(counted, Candidates) else counted

    def count(
        self, text: str, budget: Budget, found: Ranked | None = None
    ) -> tuple[Match, ...] | Candidates:
        """What `scan` finds in `text` when known (seen before, no candidate), else its candidates.

        The candidates are counted and spent from `budget` before any is
        examined. `found`: the matches per rule, when known already (a
        joined scan told them); else they are searched for.

        A rule with keywords has candidates only where one of them is.
        Raises TooManyValues when they are more than `budget` has left.
        """
        return count_candidates(self._findings, self._patterns, text, budget, found, self._keywords)

    def examine(self, candidates: Candidates, budget: Budget) -> tuple[Match, ...]:
        """The secrets among counted `candidates` (remembered for their text)."""
        encoded = candidates.encoded
        found: list[tuple[int, Match]] = []
        for rank, matches in candidates.spans:
            rule, label = self.rules[rank], self._labels[rank]
            grouped = self._patterns.has_groups(rank)
            for whole in matches:
                start, end = whole
                if grouped and budget.extraction(end - start):
                    start, end = _secret_span(self._patterns.groups(rank, encoded.data, whole))
                if start == end:
                    continue
                value = encoded.value(start, end)
                if self._plausible(rule, value) and not is_documentation_example(
                    rule.id, value, partial(encoded.value, *whole)
                ):
                    match = Match(
                        rule.id, label, encoded.char_offset(start), encoded.char_offset(end), value
                    )
                    found.append((rank, match))
        return self._findings.remember(candidates, without_overlaps(found))

    @property
    def joinable(self) -> bool:
        """Whether `joined_spans` may read many strings joined by newlines."""
        return self._patterns.joinable

    def joined_spans(self, data: bytes, limit: int) -> Ranked | None:
        """Where each rule matches in newline-joined strings (see `PatternSet.joined_spans`)."""
        return self._patterns.joined_spans(data, limit)

    def led(self, rank: int) -> bool:
        """Whether rule `rank`'s match may begin before the value: none is read so."""
        return False

    def counted_gate(self, rank: int) -> tuple[bytes, ...] | None:
        """What `count` asks of a string before it counts a joined match of `rank` there.

        None: a joined match may not be one `count` finds (an anchor);
        else the keywords one of which the string must hold (none: no gate).
        """
        if not self._patterns.unanchored[rank]:
            return None
        return self._keywords[rank]

    def _plausible(self, rule: SecretRule, value: str) -> bool:
        if rule.drops_templates and (
            any(m in value for m in _TEMPLATE_MARKERS) or _TEMPLATE_VALUE.match(value)
        ):
            return False
        if (
            rule.min_entropy is not None
            and shannon_entropy(value[:ENTROPY_SAMPLE]) < rule.min_entropy
        ):
            return False
        if rule.needs_letter_and_digit and not _letter_and_digit(value):
            return False
        data = value.encode("utf-8", "surrogatepass")
        return not any(a.search(data) for a in self._allowlist)


def _letter_and_digit(value: str) -> bool:
    if value.isascii():
        return bool(_ASCII_DIGIT.search(value) and _ASCII_LETTER.search(value))
    return any(map(str.isdigit, value)) and any(map(str.isalpha, value))


def _secret_span(spans: Spans) -> tuple[int, int]:
    """The first capture group that took part in the match, else the whole match."""
    for span in spans[1:]:
        if span[0] >= 0:
            return span
    return spans[0]
