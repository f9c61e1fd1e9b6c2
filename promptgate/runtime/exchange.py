"""One request and its response, as a state machine over plain data.

Envoy calls the processor at four points: request headers, request body,
response headers and response body chunks. ``Exchange`` has one method per
point; each returns an :mod:`actions` value. Between them it keeps what the
access log needs, and :meth:`Exchange.finish` writes exactly one record,
whether the exchange completed, was rejected or was cut off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from ..logstore import Bodies, cap_body
from ..pricing import format_usd, request_cost
from ..proto.access_log_pb2 import AccessLogRecord
from ..providers._json import InvalidBody, load_request
from ..providers.base import Usage, UsageAccumulator, WireSchema
from ..providers.sse import SSEParser
from .actions import Action, Forward, Reply
from .attempts import (
    ATTEMPT_HEADER,
    Fallbacks,
    Plan,
    new_plan,
    plan_headers,
    shape_for,
)
from .auth import authorize, identify
from .bundle import Bundle, Project, Token
from .credentials import CredentialResolver, CredentialUnavailable
from .endpoints import (
    ENDPOINTS,
    GATEWAY_ENDPOINTS,
    Endpoint,
    media_type,
    parse_project_path,
    schema_for_rest,
)
from .gateway import (
    ANTHROPIC_VERSION,
    CompletionTranslation,
    models_body,
    target,
    translate_request,
    wants_usage,
)
from .model_list import list_models
from .model_swap import swap_model
from .rejection import (
    SCHEMAS,
    Rejection,
    forbidden,
    gateway_error,
    invalid_request,
    not_found,
)
from .routing import RequestFacts, select_model
from .transforms import ResponseTransform, StreamUsageFilter

UPSTREAM_HEADER = "x-promptgate-upstream"
# A JSON answer streamed through is held here until its end to read the
# usage; past this size (no real answer comes near it) it is not held.
MAX_JSON_ANSWER = 32 * 1024 * 1024
SESSION_HEADER = "x-claude-code-session-id"
# Headers a client may send that must never reach a provider: its own
# credential for the gateway, and our routing header.
_CLIENT_ONLY_HEADERS = ("authorization", "x-api-key", UPSTREAM_HEADER)


@dataclass
class Outbound:
    """The request as the stages see and change it before it leaves."""

    project: Project
    token: Token
    endpoint: Endpoint
    schema: WireSchema
    headers: Mapping[str, str]
    body: dict[str, Any]
    provider: str
    changed: bool = False
    # Headers to send changed (None removes one), e.g. betas a swapped model does not take.
    header_changes: dict[str, str | None] = field(default_factory=dict)
    response_transforms: list[ResponseTransform] = field(default_factory=list)
    # Set when the provider speaks another schema than the client (ai_gateway).
    upstream: WireSchema | None = None
    # Applied to prompt and response text before they are logged (monitored secrets).
    log_mask: Callable[[str], str] | None = None
    # Set when Envoy gave up on the request: long stages stop early.
    abandoned: threading.Event = field(default_factory=threading.Event)
    # An ai_gateway rule with balance or fallbacks: Envoy's attempts decide the target.
    plan: Plan | None = None

    @property
    def upstream_schema(self) -> WireSchema:
        """The schema of what the provider receives and answers."""
        return self.upstream or self.schema


RequestStage = Callable[[Outbound, AccessLogRecord], None]


class Exchange:
    def __init__(
        self,
        bundle: Bundle,
        credentials: CredentialResolver,
        stages: list[RequestStage],
        sink: Callable[[AccessLogRecord, Bodies], None],
        clock: Callable[[], float] = time.monotonic,
        over_budget: Callable[[Project, Token], str | None] = lambda _p, _t: None,
        fallbacks: Fallbacks | None = None,
    ) -> None:
        self.bundle = bundle
        self.credentials = credentials
        self.stages = stages
        self.sink = sink
        self.clock = clock
        self.over_budget = over_budget
        self.fallbacks = fallbacks if fallbacks is not None else Fallbacks()
        self.started = clock()
        self.record = AccessLogRecord(bundle_version=bundle.version, alias_rule=-1)
        self.record.time.FromDatetime(datetime.now(UTC))
        self.schema_name = "anthropic"
        self.outbound: Outbound | None = None
        self._accumulator: UsageAccumulator | None = None
        self._parser: SSEParser | None = None
        # A JSON answer nothing here changes arrives in chunks Envoy has already passed on.
        self._json_chunks: list[bytes] | None = None
        self._json_held = 0
        self._usage: Usage | None = None
        self._baseline_model: str | None = None
        self._finished = False
        # The attempt number that answered (its header), once one did.
        self._tried: int | None = None
        self._keep_bodies = bundle.logging.bodies
        # Handed to the sink beside the record, not put into it (see `Bodies`).
        self._prompt = self._response = ""
        self._body_limit = bundle.logging.max_body_kib * 1024

    # -- request -----------------------------------------------------------

    def on_request_headers(self, headers: dict[str, str], end_of_stream: bool) -> Action:
        record = self.record
        record.method = headers.get(":method", "")
        record.path = headers.get(":path", "")
        record.request_id = headers.get("x-request-id", "")
        record.user_agent = headers.get("user-agent", "")[:256]
        record.session_id = headers.get(SESSION_HEADER, "")[:128]
        record.agent_id = headers.get("x-claude-code-agent-id", "")[:128]
        record.parent_agent_id = headers.get("x-claude-code-parent-agent-id", "")[:128]
        try:
            return self._admit(headers, end_of_stream)
        except Rejection as rejection:
            return self.reject(rejection)

    def _admit(self, headers: Mapping[str, str], end_of_stream: bool) -> Action:
        method = self.record.method
        path = parse_project_path(self.record.path)
        if path is None:
            # A 400, not a 404: Claude Code shows a 400's message verbatim but
            # turns a 404 into "There's an issue with the selected model".
            raise invalid_request(
                "PromptGate serves /api/<project-id>/v1/...: set the base URL to "
                "http://<gateway>/api/<project-id> (ANTHROPIC_BASE_URL for Claude Code)"
            )
        self.schema_name = schema_for_rest(path.rest)
        if path.rest.startswith("/v1/v1/"):
            raise invalid_request(
                "the base URL ends in /v1, so every path has it twice: set it to "
                "http://<gateway>/api/<project-id> for Claude Code and the anthropic SDK "
                "(the openai SDK's base URL does end in /v1)"
            )
        if path.rest == "" and method in ("GET", "HEAD"):
            # Claude Code checks that its base URL answers before it starts;
            # every project id gets the same answer, so it reveals none.
            self.record.status = 200
            return Reply(
                200, {"content-type": "application/json"}, b"{}" if method == "GET" else b""
            )
        # Until the token is checked, the answer depends only on the path:
        # which projects exist, and of which type, is for token holders.
        served = ENDPOINTS.get(path.rest) or GATEWAY_ENDPOINTS.get(path.rest)
        if served is None or method != served.method:
            raise not_found(f"Not found: {method} {path.rest or '/'}")
        self.schema_name = served.schema
        project = self.bundle.projects.get(path.project_id)
        if project is not None:
            # The access log attributes even a refused request to its project.
            self.record.project_id, self.record.project_name = project.id, project.name
        token = identify(project, headers)
        assert project is not None  # identify found the token in it
        self.record.token_id = token.id
        authorize(token, datetime.now(UTC).date())
        gateway = project.type == "ai_gateway"
        endpoint = (GATEWAY_ENDPOINTS if gateway else ENDPOINTS).get(path.rest)
        if endpoint is None and gateway:
            raise invalid_request("This project is not an AI Wrapper or Agent Proxy")
        if endpoint is None or method != endpoint.method:
            raise not_found(f"Not found: {method} {path.rest}")
        if endpoint.kind == "models":
            self.record.status = 200
            if gateway:
                return Reply(200, {"content-type": "application/json"}, models_body(project))
            listed = list_models(self.bundle, project, headers, path.query)
            return Reply(200, {"content-type": "application/json"}, listed)
        if (spent := self.over_budget(project, token)) is not None:
            raise Rejection(429, "rate_limit_error", spent)
        # An ai_gateway request names its provider in the model (or an alias).
        provider = "" if gateway else project.provider_for(endpoint.schema, self.bundle)
        if provider is None:
            raise forbidden(f"provider {endpoint.schema} is not enabled for this project")
        content_type = headers.get("content-type", "")
        if media_type(content_type) != "application/json":
            raise invalid_request(
                f"Content-Type must be application/json, not {content_type[:80] or 'missing'}"
            )
        if end_of_stream:
            raise invalid_request("request body is empty")
        self.outbound = Outbound(
            project, token, endpoint, SCHEMAS[endpoint.schema], headers, {}, provider
        )
        # Routing and credentials are the body phase's to set. Drop the
        # client's now: if Envoy never calls the body phase (HTTP/2 headers
        # and trailers without DATA), the request has no route but the 404.
        return Forward(remove_headers=list(_CLIENT_ONLY_HEADERS), clear_route_cache=True)

    def on_request_body(self, body: bytes) -> Action:
        outbound = self.outbound
        if outbound is None:
            return self.reject(gateway_error("request body arrived before its headers"))
        self.record.request_bytes = len(body)
        try:
            return self._forward(outbound, body)
        except Rejection as rejection:
            return self.reject(rejection)

    def _forward(self, outbound: Outbound, raw: bytes) -> Action:
        try:
            body, written = load_request(raw)
        except InvalidBody as exc:
            raise invalid_request(str(exc)) from None
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise invalid_request("model: field required (a string)")
        outbound.body = body
        info = outbound.schema.inspect_request(body)
        record = self.record
        record.streamed = info.stream
        record.estimated_input_tokens = outbound.schema.estimate_input_tokens(body)
        for stage in self.stages:
            stage(outbound, record)
        # After the guardrails: they may have redacted a secret in the model
        # name itself (or, monitoring, mask it for the log).
        record.model_requested = record.model_sent = outbound.body["model"]
        self._select(outbound, info.stream)
        record.model_requested = self._masked(record.model_requested)
        record.model_sent = self._masked(record.model_sent)
        if self._keep_bodies:
            # The prompt as the provider receives it: redacted values stay redacted.
            seen = outbound.schema.inspect_request(outbound.body) if outbound.changed else info
            self._prompt, record.prompt_cut_bytes = cap_body(
                self._masked(seen.prompt_text), self._body_limit
            )
        extra = self._translate(outbound) if outbound.project.type == "ai_gateway" else {}
        if outbound.endpoint.kind != "count_tokens" and outbound.plan is None:
            sent, asked = outbound.upstream_schema.ensure_stream_usage(outbound.body)
            if asked:
                outbound.body, outbound.changed = sent, True
                outbound.response_transforms.append(StreamUsageFilter(outbound.schema))
        # A planned request gets its credential per attempt, from the attempt.
        credential = self._credential(outbound) if outbound.plan is None else {}
        record.provider = outbound.provider
        forward = Forward(
            set_headers={UPSTREAM_HEADER: outbound.provider, **credential, **extra},
            remove_headers=["accept-encoding"],
            clear_route_cache=True,
        )
        forward.remove_headers += [h for h in _CLIENT_ONLY_HEADERS if h not in forward.set_headers]
        for name, value in outbound.header_changes.items():
            if value is None:
                forward.remove_headers.append(name)
            else:
                forward.set_headers[name] = value
        # The provider reads the parsed body written back, exactly what was
        # scanned; most clients send it byte for byte already.
        if outbound.changed:
            forward.body = orjson.dumps(outbound.body)
        elif written != raw:
            forward.body = written
        if forward.body is not None:
            forward.set_headers["content-length"] = str(len(forward.body))
        return forward

    def _select(self, outbound: Outbound, stream: bool) -> None:
        facts = RequestFacts(
            self.record.estimated_input_tokens,
            outbound.headers,
            stream,
            outbound.body,
            outbound.schema,
        )
        selection = select_model(outbound.project, self.record.model_requested, facts)
        gateway = outbound.project.type == "ai_gateway"
        if gateway and selection.alias is None:
            selection = target(outbound.project, selection.model)
            outbound.provider = selection.provider or ""
            outbound.body = {**outbound.body, "model": selection.model}
            outbound.changed = True
        if selection.alias is not None:
            self.record.alias, self.record.alias_rule = selection.alias, selection.rule_index
            # Savings are measured against the alias's default: what every
            # request would have cost without the cheaper rules.
            self._baseline_model = outbound.project.aliases[selection.alias][-1].model
            if selection.provider is not None:
                if selection.provider not in outbound.project.providers:
                    raise forbidden(
                        f"provider {selection.provider} is not enabled for this project"
                    )
                schema = self.bundle.providers[selection.provider].schema
                if not gateway and schema not in (outbound.endpoint.schema, "mock"):
                    raise invalid_request(
                        f"alias {selection.alias!r} routes to provider {selection.provider}, which "
                        f"speaks the {schema} API; call it on that API's endpoint"
                    )
                outbound.provider = selection.provider
            outbound.body = {**outbound.body, "model": selection.model}
            outbound.changed = True
            if selection.model != selection.alias:
                swap_model(outbound, selection.model, self.record)
            rule = outbound.project.aliases[selection.alias][selection.rule_index]
            if gateway and rule.targets:
                outbound.plan = new_plan(
                    self.fallbacks,
                    outbound.project.id,
                    selection.alias,
                    selection.rule_index,
                    rule.targets,
                )
        self.record.model_sent = selection.model

    def _translate(self, outbound: Outbound) -> dict[str, str]:
        """Shape an ai_gateway request for its provider; the headers that go with it."""
        if outbound.plan is not None:
            return self._planned(outbound, outbound.plan)
        schema = self.bundle.providers[outbound.provider].schema
        if schema != "anthropic":
            return {}
        upstream = SCHEMAS[schema]
        include_usage = wants_usage(outbound.body)
        outbound.body = translate_request(outbound.body, upstream)
        outbound.changed = True
        outbound.upstream = upstream
        # Before placeholder restore: restore reads the client's format.
        outbound.response_transforms.insert(0, CompletionTranslation(include_usage))
        # The route maps /api/<id>/ onto the provider's base path.
        return {
            ":path": f"/api/{outbound.project.id}/v1/messages",
            "anthropic-version": ANTHROPIC_VERSION,
        }

    def _planned(self, outbound: Outbound, plan: Plan) -> dict[str, str]:
        """Route to Envoy's attempts; each attempt shapes the body for its own target.

        Every target's translation is tried here first, so a field one of
        them cannot take is a 400 before anything is sent.
        """
        rule = outbound.project.aliases[plan.alias][plan.rule]
        for each in rule.targets:
            shape_for(outbound.body, each, self.bundle.providers[each.provider].schema)
        return plan_headers(plan)

    def _answered_by(self, outbound: Outbound, plan: Plan, attempt: str | None) -> None:
        """Which target answered (the attempt's header), and its transforms."""
        rule = outbound.project.aliases[plan.alias][plan.rule]
        targets = rule.targets
        number, _, index = (attempt or "").partition(" ")
        self._tried = int(number) if number.isdigit() else None
        include_usage = wants_usage(outbound.body)
        if not index.isdigit() or int(index) >= len(targets):
            # Envoy's own answer (every attempt failed): an error in OpenAI's format.
            outbound.upstream = SCHEMAS["anthropic"]
            outbound.response_transforms.insert(0, CompletionTranslation(include_usage))
            return
        answered = targets[int(index)]
        outbound.provider = self.record.provider = answered.provider
        self.record.model_sent = answered.model
        schema = self.bundle.providers[answered.provider].schema
        if schema == "anthropic":
            outbound.upstream = SCHEMAS[schema]
            outbound.response_transforms.insert(0, CompletionTranslation(include_usage))
        elif self.record.streamed and not include_usage:
            outbound.response_transforms.append(StreamUsageFilter(outbound.schema))

    def _log_attempts(self, outbound: Outbound, plan: Plan) -> None:
        """Every attempt of the plan, with its outcome where one came.

        Read at the end: an attempt another process served sends its outcome
        over (`attempt_peers`), which has long arrived by then.
        """
        targets = outbound.project.aliases[plan.alias][plan.rule].targets
        outcomes = self.fallbacks.outcomes(plan.exchange)
        tried = self._tried if self._tried is not None else max(outcomes, default=0)
        for n in range(1, min(tried, len(plan.order)) + 1):
            outcome = outcomes.get(n)
            tried_target = targets[plan.order[n - 1]]
            self.record.attempts.add(
                provider=tried_target.provider,
                model=tried_target.model,
                credential=tried_target.credential or "",
                status=outcome.status if outcome else 0,
                latency_ms=outcome.latency_ms if outcome else 0.0,
            )

    def _credential(self, outbound: Outbound) -> dict[str, str]:
        credential_name = outbound.project.providers.get(outbound.provider)
        if credential_name is None:
            return {}
        try:
            secret = self.credentials.resolve(self.bundle.credentials[credential_name].api_key)
        except CredentialUnavailable as exc:
            raise gateway_error(
                f"PromptGate cannot use credential {credential_name!r} for provider "
                f"{outbound.provider}: {exc}"
            ) from None
        if self.bundle.providers[outbound.provider].schema == "anthropic":
            return {"x-api-key": secret}
        return {"authorization": f"Bearer {secret}"}

    # -- response ----------------------------------------------------------

    def on_response_headers(self, headers: dict[str, str], end_of_stream: bool) -> Action:
        self.record.ttfb_ms = (self.clock() - self.started) * 1000
        self.record.status = int(headers.get(":status", "0") or 0)
        if self.outbound is None:
            return Forward()
        remove = []
        if self.outbound.plan is not None:
            self._answered_by(self.outbound, self.outbound.plan, headers.get(ATTEMPT_HEADER))
            remove.append(ATTEMPT_HEADER)
        streaming = "text/event-stream" in headers.get("content-type", "")
        self.record.streamed = streaming
        if end_of_stream:
            self.finish()
            return Forward(remove_headers=remove)
        if streaming:
            self._accumulator = self.outbound.upstream_schema.new_accumulator()
            self._parser = SSEParser()
            return Forward(remove_headers=remove)
        if not self.outbound.response_transforms:
            # Nothing to change: Envoy streams the answer on, chunk by chunk,
            # and the usage is read from the chunks once the last one is seen.
            self._json_chunks = []
            return Forward(remove_headers=remove)
        return Forward(buffer_response_body=True, remove_headers=[*remove, "content-length"])

    @property
    def changes_response(self) -> bool:
        """Whether the response's bytes may change here (placeholders, translation).

        Known once the response headers are seen: which attempt answered
        decides whether a translation applies.
        """
        return self.outbound is not None and bool(self.outbound.response_transforms)

    def on_response_body(self, chunk: bytes, end_of_stream: bool) -> Action:
        self.record.response_bytes += len(chunk)
        if self.outbound is None:
            return Forward()
        if self._parser is not None and self._accumulator is not None:
            for event in self._parser.feed(chunk):
                self._accumulator.feed(event)
            out = chunk
            for transform in self.outbound.response_transforms:
                out = transform.feed(out)
                if end_of_stream:
                    out += transform.finish()
            if end_of_stream:
                self.finish()
            return Forward(body=out if out != chunk else None)
        if self._json_chunks is not None:
            self._json_held += len(chunk)
            if self._json_held > MAX_JSON_ANSWER:
                # Larger than any real answer: hold no more of it, read no usage.
                self._json_chunks.clear()
                if end_of_stream:
                    self.record.error = self.record.error or "answer too large to read usage"
                    self.finish()
                return Forward()
            if not end_of_stream:
                self._json_chunks.append(chunk)
                return Forward()
            chunk = b"".join([*self._json_chunks, chunk])
            self._json_chunks = None
        usage = self.outbound.upstream_schema.usage_from_body(chunk)
        self._apply_usage(usage)
        out = chunk
        for transform in self.outbound.response_transforms:
            out = transform.complete(out)
        if end_of_stream:
            self.finish()
        return Forward(body=out if out != chunk else None)

    def _apply_usage(self, usage: Usage) -> None:
        self._usage = usage
        record = self.record
        record.input_tokens = usage.input_tokens
        record.output_tokens = usage.output_tokens
        record.cache_creation_input_tokens = usage.cache_creation_input_tokens
        record.cache_read_input_tokens = usage.cache_read_input_tokens
        record.stop_reason = usage.stop_reason or ""
        record.service_tier = usage.service_tier or ""
        record.inference_geo = usage.inference_geo or ""
        record.web_search_requests = min(usage.web_search_requests, 0xFFFFFFFF)
        record.web_fetch_requests = min(usage.web_fetch_requests, 0xFFFFFFFF)
        record.reasoning_tokens = min(usage.reasoning_tokens, 0xFFFFFFFF)
        if usage.error_message and not record.error:
            error = f"{usage.error_type or 'error'}: {usage.error_message}"
            record.error = self._masked(error)[:1000]
        if self._keep_bodies:
            self._response, record.response_cut_bytes = cap_body(
                self._masked(usage.response_text), self._body_limit
            )

    def _masked(self, text: str) -> str:
        mask = self.outbound.log_mask if self.outbound is not None else None
        return mask(text) if mask is not None and text else text

    # -- end ---------------------------------------------------------------

    def reject(self, rejection: Rejection) -> Reply:
        self.record.status = rejection.status
        self.record.error = rejection.message
        self.finish()
        return Reply(
            rejection.status,
            rejection.response_headers(),
            rejection.body(self.schema_name),
            details=f"promptgate_{rejection.error_type}",
        )

    def abandon(self) -> None:
        """Envoy no longer waits for this request: work still running on it stops."""
        if self.outbound is not None:
            self.outbound.abandoned.set()

    def finish(self, *, aborted: bool = False) -> None:
        """Write the access-log record once; ``aborted`` marks a stream cut short."""
        if self._finished:
            return
        self._finished = True
        if self.outbound is not None and self.outbound.plan is not None:
            self._log_attempts(self.outbound, self.outbound.plan)
        if self._accumulator is not None:
            self._apply_usage(self._accumulator.usage)
            if aborted or not self._accumulator.complete:
                self.record.partial = True
        elif aborted and self.outbound is not None:
            self.record.partial = True
        self.record.latency_ms = (self.clock() - self.started) * 1000
        if self._usage is not None:
            priced = request_cost(
                self.bundle.price_table, self._usage, self.record.model_sent, self._baseline_model
            )
            self.record.cost_usd = priced.cost_usd
            self.record.requested_model_cost_usd = priced.requested_model_cost_usd
            self.record.priced = priced.priced
            for item in priced.items:
                self.record.cost_breakdown.add(
                    dimension=item.dimension,
                    quantity=min(item.quantity, 0xFFFFFFFF),
                    cost_usd=format_usd(item.cost),
                    detail=item.detail,
                )
        self.sink(self.record, Bodies(self._prompt, self._response))
