"""CLI: ``python -m kong_plugins.emulator --host 127.0.0.1 --port 8010 [timing options]``.

Credentials come from BEDROCK_EMULATOR_* environment variables (fake defaults otherwise).
Exits cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .server import EmulatorServer
from .settings import EmulatorSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kong_plugins.emulator",
        description="Fake Amazon Bedrock Runtime (and Bedrock Mantle) endpoint for tests and local dev.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before response headers")
    parser.add_argument("--ttft-ms", type=float, default=0, help="streams: delay before the first delta")
    parser.add_argument("--tokens-per-second", type=float, default=0, help="streams: delta pacing (0 = none)")
    parser.add_argument("--output-tokens", type=int, default=12, help="reply length in tokens")
    parser.add_argument("--region", default=None, help="only accept this SigV4 region (default: any)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = EmulatorSettings.from_env(
            host=args.host, port=args.port, latency_ms=args.latency_ms, ttft_ms=args.ttft_ms,
            tokens_per_second=args.tokens_per_second, output_tokens=args.output_tokens,
            region=args.region, log_requests=True)
        settings.timing()
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    emulator = EmulatorServer(settings).start()
    print(f"bedrock emulator listening on {emulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
