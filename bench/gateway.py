"""This gateway (harness + plugin server + relay) in its own process, for the benchmark.

    python -m bench.gateway '{"external_emulator_url": "http://127.0.0.1:8010", ...}'

The JSON holds GatewayStack keyword arguments. Running the gateway apart from
the load generator keeps them from sharing one interpreter lock, as a real
client and a real Kong would not. Prints one JSON line when healthy (ports,
plugin-server pid), then answers lines on stdin: `stats <request-id>` (the
harness's RPC counters for that request) and `drive <request-id> <n>` (replay
that request's RPC conversation n times on the plugin server's socket, see
bench.driver); EOF on stdin stops it.
"""

from __future__ import annotations

import json
import sys

import psutil

from bench.driver import drive
from tests.stack import GatewayStack

PREFIX = "bench-gateway: "


def plugin_server_pid() -> int | None:
    for child in psutil.Process().children(recursive=True):
        if any("kong-bedrock-plugins" in part for part in child.cmdline()[:2]):
            return child.pid
    return None


def relay_overheads(lines: list[str]) -> dict:
    """p50/p99 of `relay_overhead_ms` over every request the plugin server logged."""
    values = sorted(float(event["relay_overhead_ms"]) for event in
                    (json.loads(line) for line in lines if line.startswith("{") and '"event":"request"' in line)
                    if event.get("relay_overhead_ms") is not None)
    pick = lambda q: round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 3)  # noqa: E731
    return {"requests": len(values), "p50": pick(0.5), "p99": pick(0.99)} if values else {"requests": 0}


def keep_start_instances(stack: GatewayStack) -> list[dict]:
    """Every plugin.StartInstance the harness sends from now on (its capture keeps only the last 200 calls)."""
    capture = stack.harness.runtime.capture
    starts: list[dict] = []
    add = capture.add

    def add_and_keep(method: str, sent: bytes, received: bytes, request_id: str | None) -> None:
        if method == "plugin.StartInstance":
            starts.append({"method": method, "sent": sent, "received": received, "request_id": request_id})
        add(method, sent, received, request_id)

    capture.add = add_and_keep
    return starts


def reply(line: str) -> None:
    """One answer line; the prefix tells it from anything else a component prints."""
    print(PREFIX + line, flush=True)


def main() -> int:
    kwargs = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    with GatewayStack(**kwargs) as stack:
        starts = keep_start_instances(stack)
        reply(json.dumps({"proxy_port": stack.proxy_port, "socket": str(stack.prefix / "bedrock.sock"),
                          "plugin_server_pid": plugin_server_pid(), "metrics_url": stack.metrics_url}))
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "stats":
                stack.harness.wait_for_log(argument)
                stats = stack.harness.request_stats(argument)
                reply(json.dumps({"rpc_calls": stats["rpc_calls"], "by_plugin": stats["by_plugin"]}))
            elif command == "drive":      # drive <request-id> <n>: the plugin server's socket, no HTTP
                request_id, count = argument.split()
                stack.harness.wait_for_log(request_id)
                reply(json.dumps(drive(str(stack.prefix / "bedrock.sock"), ("127.0.0.1", stack.relay_port),
                                       starts + stack.harness.rpc_socket_bytes,
                                       request_id, int(count))))
            elif command == "relay":      # the relay's own time per request, from the plugin server's log
                reply(json.dumps(relay_overheads(stack.harness.plugin_server_output("bedrock"))))
            elif command == "pid":
                reply(json.dumps({"plugin_server_pid": plugin_server_pid()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
