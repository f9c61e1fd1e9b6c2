# mypy: disable-error-code="type-arg"
import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccessLogRecord(_message.Message):
    __slots__ = ("time", "request_id", "project_id", "project_name", "token_id", "user_agent", "session_id", "method", "path", "provider", "model_requested", "model_sent", "alias", "alias_rule", "status", "latency_ms", "ttfb_ms", "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "estimated_input_tokens", "stop_reason", "streamed", "partial", "request_bytes", "response_bytes", "prompt", "response", "prompt_cut_bytes", "response_cut_bytes", "error", "cost_usd", "requested_model_cost_usd", "priced", "guardrail_findings", "bundle_version", "model_adaptations", "agent_id", "parent_agent_id", "cost_breakdown", "service_tier", "inference_geo", "web_search_requests", "web_fetch_requests", "reasoning_tokens", "attempts")
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    MODEL_SENT_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ALIAS_RULE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TTFB_MS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CREATION_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    STREAMED_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_CUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MODEL_COST_USD_FIELD_NUMBER: _ClassVar[int]
    PRICED_FIELD_NUMBER: _ClassVar[int]
    GUARDRAIL_FINDINGS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_ADAPTATIONS_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    COST_BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TIER_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_GEO_FIELD_NUMBER: _ClassVar[int]
    WEB_SEARCH_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    WEB_FETCH_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    REASONING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    request_id: str
    project_id: str
    project_name: str
    token_id: str
    user_agent: str
    session_id: str
    method: str
    path: str
    provider: str
    model_requested: str
    model_sent: str
    alias: str
    alias_rule: int
    status: int
    latency_ms: float
    ttfb_ms: float
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    estimated_input_tokens: int
    stop_reason: str
    streamed: bool
    partial: bool
    request_bytes: int
    response_bytes: int
    prompt: str
    response: str
    prompt_cut_bytes: int
    response_cut_bytes: int
    error: str
    cost_usd: str
    requested_model_cost_usd: str
    priced: bool
    guardrail_findings: _containers.RepeatedCompositeFieldContainer[Finding]
    bundle_version: str
    model_adaptations: _containers.RepeatedScalarFieldContainer[str]
    agent_id: str
    parent_agent_id: str
    cost_breakdown: _containers.RepeatedCompositeFieldContainer[CostItem]
    service_tier: str
    inference_geo: str
    web_search_requests: int
    web_fetch_requests: int
    reasoning_tokens: int
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., project_id: _Optional[str] = ..., project_name: _Optional[str] = ..., token_id: _Optional[str] = ..., user_agent: _Optional[str] = ..., session_id: _Optional[str] = ..., method: _Optional[str] = ..., path: _Optional[str] = ..., provider: _Optional[str] = ..., model_requested: _Optional[str] = ..., model_sent: _Optional[str] = ..., alias: _Optional[str] = ..., alias_rule: _Optional[int] = ..., status: _Optional[int] = ..., latency_ms: _Optional[float] = ..., ttfb_ms: _Optional[float] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cache_creation_input_tokens: _Optional[int] = ..., cache_read_input_tokens: _Optional[int] = ..., estimated_input_tokens: _Optional[int] = ..., stop_reason: _Optional[str] = ..., streamed: _Optional[bool] = ..., partial: _Optional[bool] = ..., request_bytes: _Optional[int] = ..., response_bytes: _Optional[int] = ..., prompt: _Optional[str] = ..., response: _Optional[str] = ..., prompt_cut_bytes: _Optional[int] = ..., response_cut_bytes: _Optional[int] = ..., error: _Optional[str] = ..., cost_usd: _Optional[str] = ..., requested_model_cost_usd: _Optional[str] = ..., priced: _Optional[bool] = ..., guardrail_findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., bundle_version: _Optional[str] = ..., model_adaptations: _Optional[_Iterable[str]] = ..., agent_id: _Optional[str] = ..., parent_agent_id: _Optional[str] = ..., cost_breakdown: _Optional[_Iterable[_Union[CostItem, _Mapping]]] = ..., service_tier: _Optional[str] = ..., inference_geo: _Optional[str] = ..., web_search_requests: _Optional[int] = ..., web_fetch_requests: _Optional[int] = ..., reasoning_tokens: _Optional[int] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("provider", "model", "credential", "status", "latency_ms")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    credential: str
    status: int
    latency_ms: float
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., credential: _Optional[str] = ..., status: _Optional[int] = ..., latency_ms: _Optional[float] = ...) -> None: ...

class CostItem(_message.Message):
    __slots__ = ("dimension", "quantity", "cost_usd", "detail")
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    dimension: str
    quantity: int
    cost_usd: str
    detail: str
    def __init__(self, dimension: _Optional[str] = ..., quantity: _Optional[int] = ..., cost_usd: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("rule", "location", "count", "action")
    RULE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    rule: str
    location: str
    count: int
    action: str
    def __init__(self, rule: _Optional[str] = ..., location: _Optional[str] = ..., count: _Optional[int] = ..., action: _Optional[str] = ...) -> None: ...
