"""A scripted fake model provider on loopback, for end-to-end tests and benchmarks.

It speaks the real wire formats (Anthropic Messages and OpenAI Chat
Completions, JSON and SSE) so that the official SDKs, Claude Code and the
gateway cannot tell it from the real thing::

    with FakeProvider() as fake:
        fake.script(Reply(text="Hi [[EMAIL_001]]", delta_sizes=(4,)))
        fake.script(error_reply(429, retry_after=1))
        client = anthropic.Anthropic(base_url=fake.url, api_key="test-fake-key")
        ...
        assert fake.requests[0].headers["x-api-key"] == "test-fake-key"

Run standalone with `python -m tests.fakeprovider --port 8089`.
"""

from ._http import RecordedRequest
from ._script import Reply, ToolUse, error_reply
from ._server import FakeProvider

__all__ = ["FakeProvider", "RecordedRequest", "Reply", "ToolUse", "error_reply"]
