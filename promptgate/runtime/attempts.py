"""ai_gateway balance and fallbacks: one request, several upstream attempts.

A rule with ``balance`` or ``fallbacks`` compiles to a list of targets
(provider, model, credential, weight, level). The exchange orders them into a
:class:`Plan` (level 0 shuffled by weight, then the fallbacks in order;
targets cooling down go last) and routes the request to Envoy's attempts
route, whose retry policy re-sends it on a refused or reset connection, a
first-byte timeout, 429 or any 5xx (529 included). Every try passes the
upstream ext_proc filter: :class:`Attempt` takes the plan's target for
Envoy's attempt number, puts its model in the already-scanned body,
translates it when the provider speaks Anthropic, and sets the credential
and the provider's route. It needs nothing but the bundle, the request and
the plan header, so any processor process can serve it.

Cool-downs and the attempt log live in the process that made the plan
(:class:`Fallbacks`): a target that answered 429 with ``retry-after`` or
failed three times in a row is tried last until its cool-down ends, per
processor process. An attempt served by another process sends its outcome
to the plan's process (`attempt_peers`).
"""

from __future__ import annotations

import random
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..bundle import Target
from ..providers import anthropic, openai
from .actions import Action, Forward, Reply
from .attempt_peers import Peers
from .bundle import Bundle
from .credentials import CredentialResolver, CredentialUnavailable
from .gateway import ANTHROPIC_VERSION, translate_request
from .rejection import Rejection, gateway_error

PLAN_HEADER = "x-promptgate-plan"
ATTEMPT_HEADER = "x-promptgate-attempt"
ATTEMPT_COUNT_HEADER = "x-envoy-attempt-count"
ATTEMPTS_ROUTE = "promptgate_attempts"
# The gRPC metadata the attempts cluster's ext_proc filter sends (compile.envoy).
ATTEMPT_STAGE = ("x-promptgate-stage", "attempt")

FAILURES_BEFORE_COOLDOWN = 3
COOLDOWN_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 300.0
# Headers an earlier attempt may have set that must not reach another target.
_PER_ATTEMPT = ("x-api-key", "authorization", "anthropic-version")


@dataclass(frozen=True)
class Plan:
    """Which targets of which rule, in the order Envoy's attempts take them."""

    exchange: str
    project_id: str
    alias: str
    rule: int
    order: tuple[int, ...]
    # The processor process whose exchange made the plan (`attempt_peers`).
    owner: int = 0

    def header(self) -> str:
        order = ",".join(str(i) for i in self.order)
        return f"{self.exchange} {self.owner} {self.project_id} {self.rule} {order} {self.alias}"

    @classmethod
    def parse(cls, value: str) -> Plan:
        exchange, owner, project_id, rule, order, alias = value.split(" ", 5)
        targets = tuple(int(i) for i in order.split(","))
        return cls(exchange, project_id, alias, int(rule), targets, int(owner))


@dataclass
class AttemptOutcome:
    target: int
    status: int
    latency_ms: float


@dataclass
class Fallbacks:
    """This process's cool-downs and the outcomes of recent attempts of its plans."""

    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    # The other processes of this instance, when there are any.
    peers: Peers | None = None
    _cool_until: dict[tuple[str, str, str], float] = field(default_factory=dict)
    _failures: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _outcomes: OrderedDict[str, dict[int, AttemptOutcome]] = field(default_factory=OrderedDict)

    def order(self, targets: Sequence[Target]) -> tuple[int, ...]:
        """Level 0 drawn by weight without replacement, then each fallback level."""
        now = self.clock()
        ranked: list[int] = []
        for level in sorted({t.level for t in targets}):
            pool = [i for i, t in enumerate(targets) if t.level == level]
            while pool:
                pick = self.rng.choices(pool, weights=[targets[i].weight for i in pool])[0]
                pool.remove(pick)
                ranked.append(pick)
        ready = [i for i in ranked if self._cool_until.get(targets[i].key, 0) <= now]
        return tuple(ready + [i for i in ranked if i not in ready])

    @property
    def index(self) -> int:
        """This process's slot among the instance's processes (0 when alone)."""
        return self.peers.index if self.peers is not None else 0

    def report(
        self,
        plan: Plan,
        attempt: int,
        outcome: AttemptOutcome,
        key: tuple[str, str, str],
        retry_after: str | None,
    ) -> None:
        """Settle an attempt's outcome where its plan was made: here, or in the plan's process."""
        if self.peers is None or plan.owner == self.peers.index:
            self._settle(plan.exchange, attempt, outcome, key, retry_after)
            return
        message = {
            "exchange": plan.exchange,
            "attempt": attempt,
            "target": outcome.target,
            "status": outcome.status,
            "latency_ms": outcome.latency_ms,
            "key": list(key),
            "retry_after": retry_after,
        }
        self.peers.send(plan.owner, message)

    def delivered(self, message: Any) -> None:
        """An outcome another process sent for one of this process's plans (`report`)."""
        provider, credential, model = (str(part) for part in message["key"])
        retry_after = message["retry_after"]
        outcome = AttemptOutcome(
            int(message["target"]), int(message["status"]), float(message["latency_ms"])
        )
        self._settle(
            str(message["exchange"]),
            int(message["attempt"]),
            outcome,
            (provider, credential, model),
            retry_after if isinstance(retry_after, str) else None,
        )

    def _settle(
        self,
        exchange: str,
        attempt: int,
        outcome: AttemptOutcome,
        key: tuple[str, str, str],
        retry_after: str | None,
    ) -> None:
        self.observe(key, outcome.status, retry_after)
        self._record(exchange, attempt, outcome)

    def observe(self, key: tuple[str, str, str], status: int, retry_after: str | None) -> None:
        """Count a failure of target `key` (status 0: no answer) or clear its count on success."""
        if status and status < 400:
            self._failures.pop(key, None)
            return
        if status not in (0, 429) and status < 500:
            return
        now = self.clock()
        if status == 429 and retry_after is not None:
            seconds = _seconds(retry_after)
            if seconds:
                self._cool_until[key] = now + min(seconds, MAX_RETRY_AFTER_SECONDS)
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        if failures >= FAILURES_BEFORE_COOLDOWN:
            self._cool_until[key] = max(self._cool_until.get(key, 0), now + COOLDOWN_SECONDS)
            self._failures[key] = 0

    def _record(self, exchange: str, attempt: int, outcome: AttemptOutcome) -> None:
        self._outcomes.setdefault(exchange, {})[attempt] = outcome
        while len(self._outcomes) > 10_000:
            self._outcomes.popitem(last=False)

    def outcomes(self, exchange: str) -> dict[int, AttemptOutcome]:
        return self._outcomes.pop(exchange, {})


def _seconds(value: str) -> float:
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 0.0


def new_plan(
    fallbacks: Fallbacks, project_id: str, alias: str, rule: int, targets: Sequence[Target]
) -> Plan:
    order = fallbacks.order(targets)
    return Plan(secrets.token_hex(8), project_id, alias, rule, order, fallbacks.index)


def plan_headers(plan: Plan) -> dict[str, str]:
    """What the exchange sets so the rule's attempts route (compile.envoy) takes the request."""
    route = f"{ATTEMPTS_ROUTE}/{plan.project_id}/{plan.alias}/{plan.rule}"
    return {"x-promptgate-upstream": route, PLAN_HEADER: plan.header()}


def credential_headers(
    bundle: Bundle, credentials: CredentialResolver, provider: str, name: str | None
) -> dict[str, str]:
    """The provider's credential header for credential ``name``; a Rejection if unusable."""
    if name is None:
        return {}
    try:
        secret = credentials.resolve(bundle.credentials[name].api_key)
    except CredentialUnavailable as exc:
        raise gateway_error(
            f"PromptGate cannot use credential {name!r} for provider {provider}: {exc}"
        ) from None
    if bundle.providers[provider].schema == anthropic.SCHEMA.name:
        return {"x-api-key": secret}
    return {"authorization": f"Bearer {secret}"}


def shape_for(body: dict[str, Any], target: Target, schema: str) -> tuple[dict[str, Any], str]:
    """The request body for ``target`` and the API path it goes to."""
    body = {**body, "model": target.model}
    if schema == anthropic.SCHEMA.name:
        return translate_request(body, anthropic.SCHEMA), "/v1/messages"
    return openai.ensure_stream_usage(body)[0], "/v1/chat/completions"


class Attempt:
    """One upstream try, as the attempts cluster's ext_proc filter sees it."""

    def __init__(
        self,
        bundle: Bundle,
        credentials: CredentialResolver,
        fallbacks: Fallbacks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bundle = bundle
        self.credentials = credentials
        self.fallbacks = fallbacks
        self.clock = clock
        self.started = clock()
        self._plan: Plan | None = None
        self._number = 0
        self._index = -1
        self._target: Target | None = None
        self._done = False

    def on_request_headers(self, headers: dict[str, str], end_of_stream: bool) -> Action:
        try:
            plan = Plan.parse(headers[PLAN_HEADER])
            number = int(headers.get(ATTEMPT_COUNT_HEADER, "1"))
            project = self.bundle.projects[plan.project_id]
            rule = project.aliases[plan.alias][plan.rule]
            index = plan.order[number - 1]
            target = rule.targets[index]
        except (KeyError, ValueError, IndexError):
            # Only the exchange sets the plan; anything else is not ours to send.
            return self._refuse("this request has no valid attempt plan")
        if project.type != "ai_gateway" or end_of_stream:
            return self._refuse("this request has no valid attempt plan")
        self._plan, self._number, self._index, self._target = plan, number, index, target
        return Forward()

    def on_request_body(self, raw: bytes) -> Action:
        plan, target = self._plan, self._target
        if plan is None or target is None:
            return self._refuse("request body arrived before its headers")
        schema = self.bundle.providers[target.provider].schema
        try:
            body, path = shape_for(orjson.loads(raw), target, schema)
            credential = credential_headers(
                self.bundle, self.credentials, target.provider, target.credential
            )
        except (orjson.JSONDecodeError, TypeError):
            return self._refuse("the attempt body is not the gateway's JSON")
        except Rejection as rejection:
            return self._refuse(rejection.message)
        payload = orjson.dumps(body)
        set_headers = {
            "x-promptgate-upstream": target.provider,
            ":path": f"/api/{plan.project_id}{path}",
            "content-length": str(len(payload)),
            **credential,
        }
        if schema == anthropic.SCHEMA.name:
            set_headers["anthropic-version"] = ANTHROPIC_VERSION
        # Envoy's retry re-sends the header map this attempt changed: the
        # plan stays for the next attempt (the provider's route drops it).
        remove = [h for h in _PER_ATTEMPT if h not in set_headers]
        return Forward(set_headers=set_headers, remove_headers=remove, body=payload)

    def on_response_headers(self, headers: dict[str, str], end_of_stream: bool) -> Action:
        status = int(headers.get(":status", "0") or 0)
        self._close(status, headers.get("retry-after"))
        return Forward(set_headers={ATTEMPT_HEADER: f"{self._number} {self._index}"})

    def on_response_body(self, chunk: bytes, end_of_stream: bool) -> Action:
        return Forward()

    def finish(self, *, aborted: bool = False) -> None:
        """The stream ended; without a status the target never answered."""
        self._close(0, None)

    def _close(self, status: int, retry_after: str | None) -> None:
        if self._done or self._plan is None or self._target is None:
            return
        self._done = True
        latency = (self.clock() - self.started) * 1000
        outcome = AttemptOutcome(self._index, status, latency)
        self.fallbacks.report(self._plan, self._number, outcome, self._target.key, retry_after)

    def _refuse(self, message: str) -> Reply:
        self._done = True
        body = openai.SCHEMA.error_body(500, "api_error", f"PromptGate: {message}")
        return Reply(500, {"content-type": "application/json", "x-should-retry": "false"}, body)
