"""What a Python ext_proc stream costs before any PromptGate code runs.

Run: python benchmarks/bench_grpc_floor.py [--streams N]

Starts a processor that answers every ext_proc message with an empty
"continue" (no parsing, no logging) on a Unix socket, in its own process,
and drives it with a grpc.aio client opening one stream per simulated HTTP
request, 16 at a time, each carrying 1, 2 or 4 messages (a request answered
at the door; request headers and body; a whole small exchange). It prints
the server process's CPU per stream (getrusage, start-up subtracted) for
the grpc.aio server PromptGate uses and for grpcio's thread-pool server.

That is the floor under "processor CPU per request": whatever PromptGate
does per request comes on top. A second ext_proc filter (an observing
response filter) would add one more stream per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc
from envoy.service.ext_proc.v3 import external_processor_pb2 as pb
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as pb_grpc

_ANSWERS = {
    "request_headers": pb.ProcessingResponse(request_headers=pb.HeadersResponse()),
    "request_body": pb.ProcessingResponse(request_body=pb.BodyResponse()),
    "response_headers": pb.ProcessingResponse(response_headers=pb.HeadersResponse()),
    "response_body": pb.ProcessingResponse(response_body=pb.BodyResponse()),
}


def _headers(n: int) -> pb.HttpHeaders:
    headers = pb.HttpHeaders()
    for i in range(n):
        headers.headers.headers.add(key=f"x-header-{i}", raw_value=b"v" * 24)
    return headers


MESSAGES = [
    pb.ProcessingRequest(request_headers=_headers(14)),
    pb.ProcessingRequest(request_body=pb.HttpBody(body=b"x" * 1000, end_of_stream=True)),
    pb.ProcessingRequest(response_headers=_headers(8)),
    pb.ProcessingRequest(response_body=pb.HttpBody(body=b"y" * 400, end_of_stream=True)),
]


class AioContinue(pb_grpc.ExternalProcessorServicer):  # type: ignore[misc]
    async def Process(self, _iterator: object, context: grpc.aio.ServicerContext) -> None:  # type: ignore[type-arg]
        while True:
            request = await context.read()
            if request is grpc.aio.EOF:
                return
            await context.write(_ANSWERS[request.WhichOneof("request")])


class SyncContinue(pb_grpc.ExternalProcessorServicer):  # type: ignore[misc]
    def Process(self, iterator: object, _context: object) -> object:
        for request in iterator:  # type: ignore[attr-defined]
            yield _ANSWERS[request.WhichOneof("request")]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(kind: str, address: str) -> None:
    """The server process: prints its CPU seconds at start, and again on SIGTERM."""
    print(f"{_cpu():.6f}", flush=True)

    def report(*_: object) -> None:
        print(f"{_cpu():.6f}", flush=True)
        os._exit(0)

    if kind == "thread-pool":
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        pb_grpc.add_ExternalProcessorServicer_to_server(SyncContinue(), server)
        server.add_insecure_port(address)
        server.start()
        signal.signal(signal.SIGTERM, report)
        while True:
            time.sleep(1)
    import uvloop

    async def main() -> None:
        server = grpc.aio.server()
        pb_grpc.add_ExternalProcessorServicer_to_server(AioContinue(), server)
        server.add_insecure_port(address)
        await server.start()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, report)
        await server.wait_for_termination()

    uvloop.run(main())


async def drive(address: str, streams: int, messages: int, concurrency: int = 16) -> float:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.ExternalProcessorStub(channel)

        async def one() -> None:
            call = stub.Process()
            for message in MESSAGES[:messages]:
                await call.write(message)
                await call.read()
            await call.done_writing()

        async def worker(count: int) -> None:
            for _ in range(count):
                await one()

        await worker(50)  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(worker(streams // concurrency) for _ in range(concurrency)))
        return time.perf_counter() - started


def measure(kind: str, messages: int, streams: int, directory: Path) -> tuple[float, float]:
    address = f"unix:{directory / f'{kind}-{messages}.sock'}"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, address], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    start_cpu = float(server.stdout.readline())
    time.sleep(0.3)
    try:
        wall = asyncio.run(drive(address, streams, messages))
    finally:
        server.send_signal(signal.SIGTERM)
    end_cpu = float(server.stdout.readline())
    server.wait()
    return (end_cpu - start_cpu) / (streams + 50) * 1e6, streams / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4000)
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "ADDRESS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    print(f"{args.streams} streams per row, 16 at a time; server CPU per stream (us), streams/s")
    print(f"{'server':<12} {'messages':>8} {'CPU us/stream':>14} {'streams/s':>10}")
    with tempfile.TemporaryDirectory() as directory:
        for kind in ("grpc.aio", "thread-pool"):
            for messages in (1, 2, 4):
                cpu, rate = measure(kind, messages, args.streams, Path(directory))
                print(f"{kind:<12} {messages:>8} {cpu:>14.0f} {rate:>10.0f}")


if __name__ == "__main__":
    main()
