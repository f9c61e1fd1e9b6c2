"""The built-in ``mock`` provider: answers like a model, offline.

It lets a team try PromptGate (and Claude Code through it) with no provider
key. It speaks both wire schemas: Anthropic Messages (streamed and not,
plus count_tokens) and OpenAI chat completions. Envoy reaches it like any
other provider, so every gateway stage runs exactly as in production.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORDS_PER_DELTA = 3
_DELTA_PAUSE_SECONDS = 0.01


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [b.get("text", "") for b in content if isinstance(b, dict)]
            return " ".join(t for t in texts if isinstance(t, str))
    return ""


def answer_text(body: dict[str, Any]) -> str:
    said = " ".join(_last_user_text(body).split())[:300]
    return (
        f"Hello from PromptGate's mock provider, answering as {body.get('model', 'a model')}. "
        f"You said: {said}. Configure a real provider and credential in the policy to reach "
        "an actual model."
    )


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "promptgate-mock"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(
                400,
                {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "body is not JSON"},
                },
            )
            return
        path = self.path.split("?", 1)[0]
        if path.endswith("/messages/count_tokens"):
            self._json(200, {"input_tokens": _tokens(json.dumps(body))})
        elif path.endswith("/messages"):
            self._anthropic(body)
        elif path.endswith("/chat/completions"):
            self._openai(body)
        else:
            self._json(
                404,
                {
                    "type": "error",
                    "error": {"type": "not_found_error", "message": f"no mock for {path}"},
                },
            )

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _deltas(self, text: str) -> list[str]:
        words = text.split(" ")
        return [
            " ".join(words[i : i + _WORDS_PER_DELTA])
            + (" " if i + _WORDS_PER_DELTA < len(words) else "")
            for i in range(0, len(words), _WORDS_PER_DELTA)
        ]

    def _anthropic(self, body: dict[str, Any]) -> None:
        text = answer_text(body)
        model = str(body.get("model", "mock"))
        message_id = f"msg_mock_{uuid.uuid4().hex[:24]}"
        usage = {
            "input_tokens": _tokens(json.dumps(body.get("messages"))),
            "output_tokens": _tokens(text),
        }
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
            return
        self._start_stream()
        start: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        self._chunk(_sse("message_start", {"type": "message_start", "message": start}))
        self._chunk(
            _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        for delta in self._deltas(text):
            time.sleep(_DELTA_PAUSE_SECONDS)
            self._chunk(
                _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": delta},
                    },
                )
            )
        self._chunk(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        self._chunk(
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            )
        )
        self._chunk(_sse("message_stop", {"type": "message_stop"}))
        self._chunk(b"")

    def _openai(self, body: dict[str, Any]) -> None:
        text = answer_text(body)
        model = str(body.get("model", "mock"))
        completion_id = f"chatcmpl-mock{uuid.uuid4().hex[:20]}"
        created = int(time.time())
        prompt, completion = _tokens(json.dumps(body.get("messages"))), _tokens(text)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": usage,
                },
            )
            return
        self._start_stream()
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        self._chunk(_sse(None, {**base, "choices": [first]}))
        for delta in self._deltas(text):
            time.sleep(_DELTA_PAUSE_SECONDS)
            choice = {"index": 0, "delta": {"content": delta}, "finish_reason": None}
            self._chunk(_sse(None, {**base, "choices": [choice]}))
        self._chunk(
            _sse(None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            self._chunk(_sse(None, {**base, "choices": [], "usage": usage}))
        self._chunk(_sse(None, "[DONE]"))
        self._chunk(b"")


class MockProvider:
    """The mock provider's HTTP server, run on a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="promptgate-mock"
        )

    def start(self) -> MockProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
