"""The ext_proc adapter: Envoy's protobuf messages in, plain actions out.

This is the only module that knows the ext_proc wire types. Each gRPC
stream is one HTTP exchange; ``process`` answers every message in order,
as Envoy requires, and makes sure the exchange writes its log record even
when the client goes away mid-stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.ext_proc.v3 import processing_mode_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as pb
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as pb_grpc
from envoy.type.v3 import http_status_pb2

from ..bundle import GatewaySettings
from .actions import Action, Forward, Reply
from .attempts import ATTEMPT_STAGE, Attempt
from .exchange import Exchange

log = logging.getLogger("promptgate.processor")

_OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
_BUFFERED = processing_mode_pb2.ProcessingMode(
    response_body_mode=processing_mode_pb2.ProcessingMode.BUFFERED
)
# Bodies larger than this are parsed and scanned off the event loop so one
# big Claude Code request does not stall every other stream.
_THREAD_THRESHOLD = 256 * 1024
# A request body's message may take `processor_timeout_ms` plus this per MiB
# (a 30 MiB Claude Code request: 10 s + 7.5 s by default). The compiler sets
# Envoy's `max_message_timeout` to allow it for the largest body.
BODY_MS_PER_MIB = 250
_MIB = 1 << 20


_PASS_RESPONSE_BODY = pb.ProcessingResponse(response_body=pb.BodyResponse())


def body_timeout_ms(gateway: GatewaySettings, size: int) -> int:
    """How long the processor may take on a request body of `size` bytes."""
    return gateway.processor_timeout_ms + BODY_MS_PER_MIB * size // _MIB


def _headers(message: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for header in message.headers.headers:
        value = header.raw_value.decode("utf-8", "replace") if header.raw_value else header.value
        headers[header.key.lower()] = value
    return headers


def _header_mutation(set_headers: dict[str, str], remove: list[str]) -> pb.HeaderMutation:
    return pb.HeaderMutation(
        set_headers=[
            base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key=key, raw_value=value.encode()),
                append_action=_OVERWRITE,
            )
            for key, value in set_headers.items()
        ],
        remove_headers=remove,
    )


def _common(forward: Forward) -> pb.CommonResponse:
    common = pb.CommonResponse(clear_route_cache=forward.clear_route_cache)
    if forward.set_headers or forward.remove_headers:
        common.header_mutation.CopyFrom(
            _header_mutation(forward.set_headers, forward.remove_headers)
        )
    if forward.body is not None:
        if forward.body:
            common.body_mutation.body = forward.body
        else:
            common.body_mutation.clear_body = True
    return common


def _immediate(reply: Reply) -> pb.ProcessingResponse:
    return pb.ProcessingResponse(
        immediate_response=pb.ImmediateResponse(
            status=http_status_pb2.HttpStatus(code=reply.status),
            headers=_header_mutation(reply.headers, []),
            body=reply.body,
            details=reply.details,
        )
    )


def to_response(phase: str, action: Action) -> pb.ProcessingResponse:
    if isinstance(action, Reply):
        return _immediate(action)
    common = _common(action)
    if phase == "request_headers":
        return pb.ProcessingResponse(request_headers=pb.HeadersResponse(response=common))
    if phase == "request_body":
        return pb.ProcessingResponse(request_body=pb.BodyResponse(response=common))
    if phase == "response_headers":
        response = pb.ProcessingResponse(response_headers=pb.HeadersResponse(response=common))
        if action.buffer_response_body:
            response.mode_override.CopyFrom(_BUFFERED)
        return response
    if phase == "response_body":
        return pb.ProcessingResponse(response_body=pb.BodyResponse(response=common))
    # Trailers are not requested; should Envoy send them, answer in kind.
    return pb.ProcessingResponse(**{phase: pb.TrailersResponse()})


def _observe(exchange: Exchange, message: Any) -> None:
    """Account a response chunk already passed on; a failure here must not cut the answer."""
    try:
        exchange.on_response_body(message.body, message.end_of_stream)
    except Exception:
        log.exception("accounting a response chunk failed")


class ExternalProcessor(pb_grpc.ExternalProcessorServicer):  # type: ignore[misc]
    """The gRPC service Envoy's ext_proc filter calls, one stream per request."""

    def __init__(
        self,
        new_exchange: Callable[[], Exchange],
        new_attempt: Callable[[], Attempt] | None = None,
    ) -> None:
        self._new_exchange = new_exchange
        self._new_attempt = new_attempt

    def _stream(self, context: Any) -> Exchange | Attempt:
        if self._new_attempt is None:
            return self._new_exchange()
        # The attempts cluster's upstream filter names itself in its gRPC metadata.
        metadata = dict(context.invocation_metadata() or ())
        if metadata.get(ATTEMPT_STAGE[0]) == ATTEMPT_STAGE[1]:
            return self._new_attempt()
        return self._new_exchange()

    async def Process(
        self, request_iterator: AsyncIterator[pb.ProcessingRequest], context: Any
    ) -> None:
        exchange = self._stream(context)
        try:
            # Explicit reads and writes: cheaper per message in grpc.aio than
            # an async generator over the request iterator.
            while True:
                request = await context.read()
                if request is grpc.aio.EOF:
                    return
                phase = request.WhichOneof("request")
                if phase == "request_body" and len(request.request_body.body) >= _MIB:
                    # Envoy restarts the message's timer with the longer timeout.
                    timeout = body_timeout_ms(
                        exchange.bundle.gateway, len(request.request_body.body)
                    )
                    extend = pb.ProcessingResponse()
                    extend.override_message_timeout.FromMilliseconds(timeout)
                    await context.write(extend)
                if (
                    phase == "response_body"
                    and isinstance(exchange, Exchange)
                    and not exchange.changes_response
                ):
                    # Nothing here changes these bytes: Envoy passes them on at
                    # once, and usage, cost and the log are worked out after.
                    await context.write(_PASS_RESPONSE_BODY)
                    _observe(exchange, request.response_body)
                    continue
                action = await self._dispatch(exchange, phase, request)
                await context.write(to_response(phase, action))
                if isinstance(action, Reply):
                    return
        finally:
            # Reached normally after the last body chunk (a no-op then), or
            # when the client or Envoy cut the stream short.
            exchange.finish(aborted=True)

    async def _dispatch(self, exchange: Exchange | Attempt, phase: str, request: Any) -> Action:
        if phase == "request_headers":
            message = request.request_headers
            return exchange.on_request_headers(_headers(message), message.end_of_stream)
        if phase == "request_body":
            body = request.request_body.body
            if len(body) > _THREAD_THRESHOLD:
                try:
                    return await asyncio.to_thread(exchange.on_request_body, body)
                except asyncio.CancelledError:
                    # Envoy gave up (timeout, client gone): stop the scan on the thread.
                    if isinstance(exchange, Exchange):
                        exchange.abandon()
                    raise
            return exchange.on_request_body(body)
        if phase == "response_headers":
            message = request.response_headers
            return exchange.on_response_headers(_headers(message), message.end_of_stream)
        if phase == "response_body":
            message = request.response_body
            return exchange.on_response_body(message.body, message.end_of_stream)
        # Trailers are not requested; answer anything else without changes.
        log.warning("unexpected ext_proc message %s", phase)
        return Forward()
