"""The benchmark's upstream: the scripted fake provider, made fast and run alone.

Run by ``bench_dataplane.py`` as its own process (``python
benchmarks/dataplane_fake.py --port N``) so it never shares a GIL with the
load generator or the processor. Several copies may listen on one port
(``SO_REUSEPORT``; the kernel spreads connections over them) when one
Python process cannot keep up with the gateway.

The reply is fixed: no pauses, no first-byte delay, no awkward delta
splitting, token counts given rather than estimated from the request. A
streamed answer is shaped like a real Claude Code turn: one text block of
~50 `text_delta` events and a `tool_use` block with a few
`input_json_delta` events, ~65 SSE events in all, each its own TCP write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakeprovider import FakeProvider, Reply, ToolUse

ANSWER_TEXT = (
    "I'll look at how the request pipeline hands the body to each stage before changing "
    "anything. The handler in `runtime/exchange.py` parses the JSON once, runs the stages in "
    "order and only re-serialises when one of them reports a change, so the fix belongs in "
    "the stage itself rather than in the exchange. Let me read the current implementation of "
    "the redaction stage first, then the tests that cover placeholder restoration across "
    "split deltas, because those are the cases most likely to break if the ordering changes. "
    "After that I will run the focused test module and report what I find before editing."
)
# Claude streams a few tokens per text delta; 12 characters is about three.
DELTA_CHARS = 12


def benchmark_reply() -> Reply:
    return Reply(
        text=ANSWER_TEXT,
        tool_uses=(
            ToolUse(
                name="Read",
                input={"file_path": "/home/dev/promptgate/promptgate/runtime/exchange.py"},
                id="toolu_01BenchDataplane0000001",
            ),
        ),
        model="claude-sonnet-4-5-20250929",
        input_tokens=21_504,
        output_tokens=161,
        cache_read_input_tokens=18_000,
        delta_sizes=(DELTA_CHARS,),
        write_pause=0.0,
        first_byte_delay=0.0,
    )


class SharedPortFakeProvider(FakeProvider):
    """A `FakeProvider` whose listening socket may be shared by several processes."""

    async def _open(self) -> None:
        self._server = await asyncio.start_server(
            self._connection,
            self.host,
            self.port,
            limit=1 << 20,
            backlog=4096,
            reuse_port=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    fake = SharedPortFakeProvider(host=args.host, port=args.port, record=False)
    fake.default = benchmark_reply()
    with contextlib.suppress(KeyboardInterrupt):
        fake.serve_forever(lambda f: print(f"fake provider listening on {f.url}", flush=True))


if __name__ == "__main__":
    main()
