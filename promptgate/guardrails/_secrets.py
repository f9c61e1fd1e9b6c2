"""The secret scanner: built-in and policy rules, keyword gates, entropy, allowlists.

Well-known documentation values (`_examples`) are never findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from typing import Any

from ._budget import Budget
from ._entropy import shannon_entropy
from ._examples import is_documentation_example
from ._lru import ScanCache
from ._patternset import PatternSet, compile_regex
from ._secret_rules import SecretRule
from ._text import EncodedText, Match, without_overlaps

# Template syntax that names a secret kept elsewhere: `${X}`, `$(cmd)`, `$X`,
# `{{ x }}`, `{% x %}`, `%(x)s`, `%X%`, `<password>`. Python's `re` is safe
# here: no nested repetition, and values are bounded by the RE2 match.
_TEMPLATE = re.compile(
    r"\$\{|\$\(|\{\{|\{%|%\(|^\$[A-Za-z_][A-Za-z0-9_]*$|^%[A-Za-z_]+%$|^<[^>]*>$"
)


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
        self._groups = [range(1, c.groups + 1) for c in self._patterns.compiled]
        self._allowlist = [
            compile_regex(a, f"secret_scanner.allowlist[{i}]") for i, a in enumerate(allowlist)
        ]
        self._cache: ScanCache[tuple[Match, ...]] = ScanCache()

    def scan(self, text: str, budget: Budget | None = None) -> tuple[Match, ...]:
        """Non-overlapping secrets in `text`, in order of position.

        Raises TooManyValues when `text` holds more candidates than the
        request's `budget` allows examining.
        """
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        encoded = EncodedText(text)
        budget = budget or Budget()
        budget.earn(len(encoded.data))
        found = self._scan(encoded, budget)
        self._cache.put(text, found)
        return found

    def _scan(self, encoded: EncodedText, budget: Budget) -> tuple[Match, ...]:
        hits = self._patterns.matching(encoded.data)
        if not hits:
            return ()
        lowered = encoded.data.lower()
        found: list[tuple[int, Match]] = []
        for rank in hits:
            rule = self.rules[rank]
            if rule.keywords and not any(k.encode() in lowered for k in rule.keywords):
                continue
            groups = self._groups[rank]
            for m in self._patterns.compiled[rank].finditer(encoded.data):
                group = next((g for g in groups if m.start(g) >= 0), 0)
                start, end = m.span(group)
                if start == end:
                    continue
                budget.candidate()
                value = encoded.value(start, end)
                if self._plausible(rule, value) and not is_documentation_example(
                    rule.id, value, partial(_whole_match, encoded, m)
                ):
                    match = Match(
                        rule.id,
                        self._labels[rank],
                        encoded.char_offset(start),
                        encoded.char_offset(end),
                        value,
                    )
                    found.append((rank, match))
        return without_overlaps(found)

    def _plausible(self, rule: SecretRule, value: str) -> bool:
        if rule.drops_templates and _TEMPLATE.search(value):
            return False
        if rule.min_entropy is not None and shannon_entropy(value) < rule.min_entropy:
            return False
        if rule.needs_letter_and_digit and not (
            any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
        ):
            return False
        data = value.encode("utf-8", "surrogatepass")
        return not any(a.search(data) for a in self._allowlist)


def _whole_match(encoded: EncodedText, match: Any) -> str:
    return encoded.value(*match.span())
