"""Translation between OpenAI Chat Completions and Anthropic Messages.

Pure functions over decoded JSON and SSE events, used by `ai_gateway`
projects, which serve one OpenAI-compatible API for every provider:

- `chat_to_messages(body, model)`: an OpenAI chat request as an Anthropic
  Messages request; raises `Untranslatable` naming the first field that
  has no faithful equivalent (never a silent drop).
- `message_to_completion(message)`: an Anthropic message as an OpenAI
  `chat.completion`; `error_to_openai(status, body)` an Anthropic error body
  as OpenAI's.
- `CompletionStream`: Anthropic SSE events in, OpenAI `chat.completion.chunk`
  SSE bytes out.
"""

from ._errors import Untranslatable
from ._request import chat_to_messages
from ._response import error_to_openai, finish_reason, message_to_completion, openai_usage
from ._stream import CompletionStream

__all__ = [
    "CompletionStream",
    "Untranslatable",
    "chat_to_messages",
    "error_to_openai",
    "finish_reason",
    "message_to_completion",
    "openai_usage",
]
