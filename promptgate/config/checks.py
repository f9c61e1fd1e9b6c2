"""Semantic checks on a merged policy: references, duplicates, reachability.

The model catches shapes; these catch meaning: a credential that does not
exist, a rule that can never match, a token that has expired. Each check
yields diagnostics located through the policy's origins.
"""

from __future__ import annotations

from datetime import date

import re2

from ..pricing import PriceTable
from ._yaml import KeyPath
from .diagnostics import Diagnostic, Severity
from .load import Origins, key_path_text
from .models import BUILTIN_PROVIDERS, MOCK_PROVIDER, Policy, Project, Rule

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_BUILTIN_ENTITY_NAMES = {"EMAIL", "PHONE", "IP_ADDRESS", "CREDIT_CARD", "IBAN", "SECRET"}


class _Reporter:
    def __init__(self, origins: Origins) -> None:
        self.origins = origins
        self.diagnostics: list[Diagnostic] = []

    def error(self, path: KeyPath, message: str, *, key: bool = False) -> None:
        self._add(path, Severity.ERROR, message, key)

    def warning(self, path: KeyPath, message: str, *, key: bool = False) -> None:
        self._add(path, Severity.WARNING, message, key)

    def _add(self, path: KeyPath, severity: Severity, message: str, key: bool) -> None:
        location = self.origins.locate_key(path) if key else self.origins.locate(path)
        self.diagnostics.append(Diagnostic(location, severity, message, key_path_text(path)))


def provider_api(policy: Policy, name: str) -> str | None:
    """The wire schema of a provider: 'anthropic', 'openai', 'mock' or None if unknown."""
    if name == MOCK_PROVIDER:
        return "mock"
    provider = policy.providers.get(name) or BUILTIN_PROVIDERS.get(name)
    if provider is None:
        return None
    return provider.api or (BUILTIN_PROVIDERS[name].api if name in BUILTIN_PROVIDERS else None)


def known_providers(policy: Policy) -> set[str]:
    return {*BUILTIN_PROVIDERS, MOCK_PROVIDER, *policy.providers}


def re2_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid linear-time RE2 regex, or None if it is."""
    try:
        re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else str(exc)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"regex is not valid RE2 (linear-time, no backreferences or lookaround): {reason}"
    return None


# What RE2's zero-width assertions (`^`, `$`, `\A`, `\z`, `\b`, `\B`) can tell
# apart on either side of a position: the end of the text, a word character,
# another character, a newline. An empty match depends on nothing else.
_SIDES = ("", "a", " ", "\n")


def matches_empty(pattern: str) -> bool:
    """Whether a valid RE2 ``pattern`` matches the empty string at some position of some text."""
    compiled = re2.compile(pattern, options=_RE2_OPTIONS)
    return any(
        compiled.fullmatch(before + after, len(before), len(before)) is not None
        for before in _SIDES
        for after in _SIDES
    )


def _pattern_problem(pattern: str) -> str | None:
    """Why a detector's ``pattern`` cannot be used: not RE2, or it matches nothing at all."""
    if problem := re2_problem(pattern):
        return problem
    if matches_empty(pattern):
        return (
            "regex can match the empty string, so it would be tried at every byte of every "
            "request (~1 s per MB) and find nothing: make it need a character (`x+`, not `x*`)"
        )
    return None


def check_policy(
    policy: Policy, origins: Origins, *, today: date | None = None
) -> list[Diagnostic]:
    report = _Reporter(origins)
    today = today or date.today()
    _check_providers(policy, report)
    _check_credentials(policy, report)
    seen_ids: dict[str, str] = {}
    seen_hashes: dict[str, tuple[str, str]] = {}
    for name, project in policy.projects.items():
        base: KeyPath = ("projects", name)
        project_id = str(project.id)
        if project_id in seen_ids:
            report.error(
                (*base, "id"),
                f"project id {project_id} is already used by {seen_ids[project_id]!r}",
            )
        seen_ids[project_id] = name
        _check_project_providers(policy, name, project, report)
        _check_tokens(name, project, report, seen_hashes, today)
        _check_aliases(policy, name, project, report)
        _check_guardrails(name, project, report)
        _check_type(name, project, report)
        _check_model_lists(name, project, report)
        token_ids = {t.id for t in project.tokens}
        for index, budget in enumerate(project.budgets):
            if budget.token is not None and budget.token not in token_ids:
                report.error(
                    ("projects", name, "budgets", index, "token"),
                    f"no token {budget.token!r} in this project",
                )
    _check_webhooks(policy, report)
    return report.diagnostics


def _check_webhooks(policy: Policy, report: _Reporter) -> None:
    known = set(policy.projects) | {str(p.id) for p in policy.projects.values()}
    for index, hook in enumerate(policy.webhooks):
        for position, project in enumerate(hook.projects or []):
            if project not in known:
                report.error(
                    ("webhooks", index, "projects", position), f"unknown project {project!r}"
                )
        if hook.anomaly is not None and "endpoint.anomaly" not in hook.events:
            report.warning(
                ("webhooks", index, "anomaly"),
                "anomaly settings have no effect without the endpoint.anomaly event",
            )


def _check_providers(policy: Policy, report: _Reporter) -> None:
    for name, provider in policy.providers.items():
        if name == MOCK_PROVIDER:
            report.error(
                ("providers", name), "'mock' is built in and cannot be redefined", key=True
            )
        elif provider.api is None and name not in BUILTIN_PROVIDERS:
            report.error(
                ("providers", name),
                f"provider {name!r} is not built in: say which wire schema it speaks "
                "with api: anthropic or api: openai",
                key=True,
            )


def _check_credentials(policy: Policy, report: _Reporter) -> None:
    providers = known_providers(policy)
    for name, credential in policy.credentials.items():
        if credential.provider not in providers:
            report.error(
                ("credentials", name, "provider"),
                f"unknown provider {credential.provider!r}; known: {', '.join(sorted(providers))}",
            )


def _check_project_providers(
    policy: Policy, name: str, project: Project, report: _Reporter
) -> None:
    providers = known_providers(policy)
    for provider_name, enabled in project.providers.items():
        path: KeyPath = ("projects", name, "providers", provider_name)
        if provider_name not in providers:
            report.error(path, f"unknown provider {provider_name!r}", key=True)
            continue
        if enabled.credential is None:
            if provider_name != MOCK_PROVIDER:
                report.error(path, f"provider {provider_name!r} needs a credential")
            continue
        credential = policy.credentials.get(enabled.credential)
        if credential is None:
            report.error(
                (*path, "credential"),
                f"unknown credential {enabled.credential!r}; define it under credentials:",
            )
        elif credential.provider != provider_name:
            report.error(
                (*path, "credential"),
                f"credential {enabled.credential!r} is for provider {credential.provider!r}, "
                f"not {provider_name!r}",
            )


def _check_tokens(
    name: str,
    project: Project,
    report: _Reporter,
    seen_hashes: dict[str, tuple[str, str]],
    today: date,
) -> None:
    ids: set[str] = set()
    for index, token in enumerate(project.tokens):
        path: KeyPath = ("projects", name, "tokens", index)
        if token.id in ids:
            report.error((*path, "id"), f"token id {token.id!r} is used twice in this project")
        ids.add(token.id)
        if token.hash in seen_hashes:
            other_project, other_id = seen_hashes[token.hash]
            report.error(
                (*path, "hash"),
                f"this token hash is already used by token {other_id!r} of project "
                f"{other_project!r}; every token needs its own",
            )
        seen_hashes[token.hash] = (name, token.id)
        if token.expires is not None and token.expires < today and not token.revoked:
            report.warning(
                (*path, "expires"),
                f"token {token.id!r} expired on {token.expires.isoformat()}; requests with it "
                "are refused",
            )


def _check_aliases(policy: Policy, name: str, project: Project, report: _Reporter) -> None:
    prices = PriceTable.builtin()
    enabled = {p for p, spec in project.providers.items() if spec.enabled}
    for alias_name, alias in project.aliases.items():
        base: KeyPath = ("projects", name, "aliases", alias_name)
        apis: set[str] = set()
        catch_all_at: int | None = None
        for index, rule in enumerate(alias.rules):
            path: KeyPath = (*base, "rules", index)
            if catch_all_at is not None:
                report.error(
                    path,
                    f"this rule can never match: rule {catch_all_at} before it matches every "
                    "request",
                )
            elif rule.is_catch_all():
                catch_all_at = index
            api = provider_api(policy, rule.provider)
            if api is None:
                report.error((*path, "model"), f"unknown provider {rule.provider!r}")
            elif rule.provider not in enabled:
                report.error(
                    (*path, "model"),
                    f"provider {rule.provider!r} is not enabled for project {name!r}",
                )
            if api is not None and api != "mock":
                apis.add(api)
            _check_targets(policy, project, rule, path, report)
        if catch_all_at is None:
            report.error(
                (*base, "rules"),
                "the last rule must be a default without 'when', so every request gets a model",
            )
        for index, rule in enumerate(alias.rules):
            if rule.provider == MOCK_PROVIDER:
                continue
            if prices.lookup(rule.target_model) is None and rule.target_model not in policy.prices:
                report.warning(
                    (*base, "rules", index, "model"),
                    f"model {rule.target_model!r} has no price: its requests are logged as "
                    "unpriced; add it under prices:",
                )
        if project.type == "agent_proxy":
            _check_claude_code_overhead(base, alias.rules, report)
        # An ai_gateway project translates between schemas; the others forward as is.
        if len(apis) > 1 and project.type != "ai_gateway":
            report.error(
                (*base, "rules"),
                "rules target both the anthropic and the openai wire schema; a request cannot be "
                "translated between them, so one alias must stay on one schema",
            )


# Estimated tokens of system prompt and tool definitions in every Claude Code
# main-loop request (21.7k measured on CLI 2.1.197; see docs/routing.md).
CLAUDE_CODE_FIXED_TOKENS = 20_000


def _check_claude_code_overhead(base: KeyPath, rules: list[Rule], report: _Reporter) -> None:
    """An input_tokens ceiling below Claude Code's fixed prefix never matches its main loop."""
    for index, rule in enumerate(rules):
        when = rule.when
        if when is None or when.input_tokens is None or when.tools is False:
            continue
        ceilings = [b for b in (when.input_tokens.lt, when.input_tokens.lte) if b is not None]
        if not ceilings or min(ceilings) > CLAUDE_CODE_FIXED_TOKENS:
            continue
        report.warning(
            (*base, "rules", index, "when", "input_tokens"),
            f"Claude Code sends about {CLAUDE_CODE_FIXED_TOKENS:,} tokens of system prompt and "
            f"tool definitions with every main-loop request, so input_tokens below "
            f"{min(ceilings)} never matches it; use conversation_tokens (the messages alone), "
            "or add 'tools: false' to aim at its background calls",
        )


def _check_targets(
    policy: Policy, project: Project, rule: Rule, path: KeyPath, report: _Reporter
) -> None:
    """Every balance and fallback target names an enabled provider and a matching credential."""
    targets: list[tuple[KeyPath, str, str | None]] = [(path, rule.provider, rule.credential)]
    for key in ("balance", "fallbacks"):
        for index, target in enumerate(getattr(rule, key)):
            targets.append(((*path, key, index), target.provider, target.credential))
    for at, provider, credential in targets:
        enabled = project.providers.get(provider)
        if at == path:
            pass  # the rule's own provider is checked with its model above
        elif provider_api(policy, provider) is None:
            report.error((*at, "model"), f"unknown provider {provider!r}")
        elif enabled is None or not enabled.enabled:
            report.error((*at, "model"), f"provider {provider!r} is not enabled for this project")
        if credential is None:
            continue
        known = policy.credentials.get(credential)
        if known is None:
            report.error((*at, "credential"), f"unknown credential {credential!r}")
        elif known.provider != provider:
            report.error(
                (*at, "credential"),
                f"credential {credential!r} is for provider {known.provider!r}, not {provider!r}",
            )


def _check_guardrails(name: str, project: Project, report: _Reporter) -> None:
    base: KeyPath = ("projects", name, "guardrails")
    redaction = project.guardrails.reversible_redaction
    if redaction is not None:
        names: set[str] = set()
        for index, pattern in enumerate(redaction.custom_patterns):
            path: KeyPath = (*base, "reversible_redaction", "custom_patterns", index)
            if pattern.name in _BUILTIN_ENTITY_NAMES or pattern.name in names:
                report.error((*path, "name"), f"placeholder name {pattern.name!r} is already taken")
            names.add(pattern.name)
            if problem := _pattern_problem(pattern.regex):
                report.error((*path, "regex"), problem)
    scanner = project.guardrails.secret_scanner
    if scanner is not None:
        ids: set[str] = set()
        for index, rule in enumerate(scanner.extra_rules):
            path = (*base, "secret_scanner", "extra_rules", index)
            if rule.id in ids:
                report.error((*path, "id"), f"rule id {rule.id!r} is used twice")
            ids.add(rule.id)
            if problem := _pattern_problem(rule.regex):
                report.error((*path, "regex"), problem)
        for index, allowed in enumerate(scanner.allowlist):
            if problem := re2_problem(allowed):
                report.error((*base, "secret_scanner", "allowlist", index), problem)
            elif matches_empty(allowed):
                report.error(
                    (*base, "secret_scanner", "allowlist", index),
                    "regex can match the empty string, so it would allow every secret: "
                    "make it need a character (`x+`, not `x*`)",
                )


def _check_model_lists(name: str, project: Project, report: _Reporter) -> None:
    # Entries match trimmed and case-insensitively (runtime/model_lists.py);
    # an entry that is empty or has a space inside can never name a model.
    if project.models is None:
        return
    lists = {"allow": project.models.allow or [], "deny": project.models.deny}
    for key, entries in lists.items():
        for index, entry in enumerate(entries):
            if not entry.strip() or any(c.isspace() for c in entry.strip()):
                report.error(
                    ("projects", name, "models", key, index),
                    f"{entry!r} cannot name a model: a model list entry is a name or a glob "
                    "without spaces",
                )


def _check_type(name: str, project: Project, report: _Reporter) -> None:
    path: KeyPath = ("projects", name)
    enabled = [p for p, spec in project.providers.items() if spec.enabled]
    if project.type in ("agent_proxy", "ai_wrapper") and not enabled:
        report.error(
            (*path, "providers"),
            f"a {project.type} project forwards to providers, but none is enabled",
        )
    if project.type == "ai_gateway" and not enabled:
        report.warning(
            (*path, "type"),
            "an ai_gateway project without an enabled provider serves only /v1/models",
        )
