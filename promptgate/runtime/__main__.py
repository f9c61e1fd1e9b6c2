"""``python -m promptgate.runtime --bundle PATH --listen HOST:PORT``: the processor."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvloop

from . import process_log
from .bundle import BundleError
from .server import serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="promptgate-processor")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument(
        "--listen", default="127.0.0.1:50051", help="host:port, or unix:/path for a Unix socket"
    )
    parser.add_argument("--mock-port", type=int, help="Override the bundle's mock provider port.")
    parser.add_argument("--status-port", type=int, help="Override the metrics/status port.")
    args = parser.parse_args()
    process_log.configure()
    try:
        main_task = serve(
            args.bundle, args.listen, mock_port=args.mock_port, status_port=args.status_port
        )
        # uvloop's faster event loop measurably lifts grpc.aio throughput.
        uvloop.run(main_task)
    except BundleError as exc:
        logging.error("cannot start: %s", exc)
        return 1
    except OSError as exc:
        logging.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
