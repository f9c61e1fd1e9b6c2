"""`python -m tests.fakeprovider --port N`: serve the fake provider until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib

from ._script import Reply
from ._server import FakeProvider


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeprovider", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", help="reject requests that do not carry this key")
    parser.add_argument("--text", help="answer this text instead of echoing the prompt")
    parser.add_argument(
        "--delta-size", type=int, default=0, help="characters per text delta (0: awkward sizes)"
    )
    args = parser.parse_args()
    # Recording every request would grow without bound under a benchmark.
    fake = FakeProvider(host=args.host, port=args.port, api_key=args.api_key, record=False)
    sizes = (args.delta_size,) if args.delta_size else Reply.delta_sizes
    fake.default = Reply(text=args.text, delta_sizes=sizes)
    with contextlib.suppress(KeyboardInterrupt):
        fake.serve_forever(lambda fake: print(f"fake provider listening on {fake.url}", flush=True))


if __name__ == "__main__":
    main()
