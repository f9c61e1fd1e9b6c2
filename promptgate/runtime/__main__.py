"""``python -m promptgate.runtime --bundle PATH --listen ADDR [--processes N]``: the processor."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvloop

from . import process_log
from .bundle import BundleError
from .processes import MAX_PROCESSES, run_processes
from .server import serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="promptgate-processor")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument(
        "--listen", default="127.0.0.1:50051", help="host:port, or unix:/path for a Unix socket"
    )
    parser.add_argument("--mock-port", type=int, help="Override the bundle's mock provider port.")
    parser.add_argument("--status-port", type=int, help="Override the metrics/status port.")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help=f"Processor processes (1-{MAX_PROCESSES}); process i>0 listens on NAME-i.sock.",
    )
    parser.add_argument(
        "--index", type=int, help="This process's slot among --processes (set by the launcher)."
    )
    args = parser.parse_args()
    if not 1 <= args.processes <= MAX_PROCESSES:
        parser.error(f"--processes must be 1-{MAX_PROCESSES}")
    if args.processes > 1 and args.index is None:
        options = ["--bundle", str(args.bundle)]
        for name in ("mock_port", "status_port"):
            if getattr(args, name) is not None:
                options += ["--" + name.replace("_", "-"), str(getattr(args, name))]
        return run_processes(options, args.processes, args.listen)
    process_log.configure()
    try:
        main_task = serve(
            args.bundle,
            args.listen,
            index=args.index or 0,
            processes=args.processes,
            mock_port=args.mock_port,
            status_port=args.status_port,
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
