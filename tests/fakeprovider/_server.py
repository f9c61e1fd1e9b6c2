"""The fake provider: a loopback HTTP server that answers from a script."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from promptgate.providers import anthropic as anthropic_schema
from promptgate.providers import openai as openai_schema

from . import _anthropic, _openai
from ._answer import build_answer
from ._http import RecordedRequest, chunk, read_request, response_head
from ._script import Reply
from ._strict import anthropic_request_error
from ._strict_messages import messages_problem

__all__ = ["FakeProvider"]

_JSON = ("content-type", "application/json")
_SSE = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")]


class FakeProvider:
    """Speaks the Anthropic and OpenAI APIs on 127.0.0.1 from a script.

    Routes by path suffix, so any base path works: `.../v1/messages`
    (`?beta=true` too), `.../v1/messages/count_tokens` and
    `.../chat/completions`. Each request takes the next `Reply` from the
    queue filled by `script()`, or `default` when the queue is empty.
    With `api_key` set, requests without that key (`x-api-key` or
    `Authorization: Bearer`) get a 401 in the provider's format. With
    `strict` (the default), Anthropic requests the real API would refuse
    (request shapes: `_strict_messages`; per-model fields and betas:
    `_strict`) get its 400 instead of a scripted reply.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        record: bool = True,
        strict: bool = True,
    ) -> None:
        self.host = host
        self.strict = strict
        self.port = port
        self.api_key = api_key
        self.default = Reply()
        self.count_tokens: int | None = None
        self.requests: list[RecordedRequest] = []
        self._record = record
        self._queue: deque[Reply] = deque()
        self._serial = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        self._queue.extend(replies)

    def reset(self) -> None:
        """Forget recorded requests and queued replies."""
        self._queue.clear()
        self.requests.clear()

    def start(self) -> FakeProvider:
        """Serve on a background thread; returns once the port is bound."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._thread = None

    def serve_forever(self, on_ready: Callable[[FakeProvider], None] | None = None) -> None:
        """Serve on the calling thread until interrupted (the command-line mode)."""

        async def main() -> None:
            await self._open()
            if on_ready is not None:
                on_ready(self)
            try:
                await asyncio.Event().wait()
            finally:
                await self._close()

        asyncio.run(main())

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._open())
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _open(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, limit=1 << 20, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Each write must leave as its own segment, or split events
            # would quietly arrive whole.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while (request := await read_request(reader, writer)) is not None:
                if self._record:
                    self.requests.append(request)
                if not await self._respond(request, writer) or not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # Only `stop()` cancels; ending quietly keeps asyncio's stream
            # callback from logging the cancellation as an error.
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _respond(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must be dropped."""
        path = request.path.rstrip("/")
        schema = "openai" if path.endswith("/chat/completions") else "anthropic"
        known = path.endswith(("/v1/messages", "/v1/messages/count_tokens", "/chat/completions"))
        if request.method != "POST" or not known:
            message = f"Not found: {request.method} {request.path}"
            return await _send(writer, request, _error(schema, 404, None, message))
        if self.api_key is not None and not self._authorised(request):
            message = "invalid x-api-key" if schema == "anthropic" else "Incorrect API key provided"
            return await _send(writer, request, _error(schema, 401, None, message))
        try:
            body = json.loads(request.body)
        except ValueError:
            return await _send(writer, request, _error(schema, 400, None, "Body is not valid JSON"))
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return await _send(writer, request, _error(schema, 400, None, "model: Field required"))
        if schema == "anthropic" and self.strict:
            counting = path.endswith("/count_tokens")
            refused = messages_problem(body, count_tokens=counting) or anthropic_request_error(
                body, request.headers
            )
            if refused is not None:
                error = _error(schema, 400, "invalid_request_error", refused)
                return await _send(writer, request, error)
        if path.endswith("/count_tokens"):
            count = self.count_tokens
            tokens = count if count is not None else anthropic_schema.estimate_input_tokens(body)
            payload = json.dumps({"input_tokens": tokens}).encode()
            return await _send(writer, request, (200, [_JSON], payload))
        reply = self._queue.popleft() if self._queue else self.default
        if reply.first_byte_delay:
            await asyncio.sleep(reply.first_byte_delay)
        if reply.status >= 400:
            if reply.body is not None:
                error = (reply.status, [_JSON], reply.body)
            else:
                message = reply.error_message or f"Scripted error {reply.status}"
                error = _error(schema, reply.status, reply.error_type, message)
            return await _send(writer, request, error, reply.headers)
        answer = build_answer(reply, body, schema=schema, serial=next(self._serial))
        headers = [*_identity(schema, answer.id), *reply.headers.items()]
        if body.get("stream") is not True:
            if schema == "anthropic":
                payload = _anthropic.message_json(answer)
            else:
                payload = _openai.completion_json(answer)
            return await _send(writer, request, (200, [_JSON, *headers], payload))
        if schema == "anthropic":
            events = _anthropic.message_events(answer)
        else:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            events = _openai.completion_events(answer, include_usage)
        return await _stream(
            writer, request, [*_SSE, *headers], _failing(events, reply, schema), reply
        )

    def _authorised(self, request: RecordedRequest) -> bool:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.api_key in (request.headers.get("x-api-key"), bearer)


def _identity(schema: str, answer_id: str) -> list[tuple[str, str]]:
    if schema == "anthropic":
        return [("request-id", f"req_{answer_id}")]
    return [("x-request-id", f"req_{answer_id}"), ("openai-processing-ms", "1")]


def _error(
    schema: str, status: int, type_: str | None, message: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    module: Any = anthropic_schema if schema == "anthropic" else openai_schema
    body: bytes = module.error_body(status, type_, message)
    return status, [_JSON], body


def _failing(events: list[bytes], reply: Reply, schema: str) -> list[bytes]:
    """The events actually sent, cut short where the reply fails."""
    if reply.stream_error is None and not reply.abort:
        return events
    cut = reply.fail_after if reply.fail_after is not None else len(events) // 2
    sent = events[:cut]
    if reply.stream_error is not None:
        message = reply.error_message or "Overloaded"
        module: Any = _anthropic if schema == "anthropic" else _openai
        sent.append(module.error_event(reply.stream_error, message))
    return sent


async def _send(
    writer: asyncio.StreamWriter,
    request: RecordedRequest,
    response: tuple[int, list[tuple[str, str]], bytes],
    extra_headers: Any = None,
) -> bool:
    status, headers, body = response
    headers = [*headers, *(dict(extra_headers or {}).items())]
    close = not request.keep_alive
    head = response_head(status, headers, length=len(body), close=close)
    writer.write(head if request.method == "HEAD" else head + body)
    await writer.drain()
    return not close


async def _stream(
    writer: asyncio.StreamWriter,
    request: RecordedRequest,
    headers: list[tuple[str, str]],
    events: list[bytes],
    reply: Reply,
) -> bool:
    close = not request.keep_alive
    writer.write(response_head(200, headers, length=None, close=close))
    await writer.drain()
    for index, data in enumerate(_writes(events, reply.write_sizes)):
        if index and reply.write_pause:
            await asyncio.sleep(reply.write_pause)
        writer.write(chunk(data))
        await writer.drain()
    if reply.abort:
        return False
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return not close


def _writes(events: list[bytes], sizes: tuple[int, ...]) -> Iterator[bytes]:
    if not sizes:
        yield from events
        return
    stream = b"".join(events)
    start = 0
    for size in itertools.cycle(sizes):
        if start >= len(stream):
            return
        yield stream[start : start + max(size, 1)]
        start += max(size, 1)
