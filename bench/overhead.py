"""Gateway overhead on one machine: gateway latency minus a direct call to the same emulator.

    python -m bench.overhead [--requests 500] [--json bench/results/overhead.json]

Both paths use the same keep-alive http.client connection and the same body;
the direct path replays one pre-signed SigV4 request (the emulator accepts a
signature for its validity window), so client-side signing is not charged to
the baseline. The emulator answers with zero configured latency. Bounded:
it sends a fixed number of requests to 127.0.0.1 and stops.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import time
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer

from tests.stack import EMULATOR_KEY_ID, EMULATOR_SECRET, GatewayStack

MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
PROMPT = {"messages": [{"role": "user", "content": "Benchmark prompt: summarise the order status."}],
          "max_tokens": 32}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {payload[:200]!r}")
    return elapsed * 1000.0


def direct_request(emulator_url: str, operation: str = "invoke") -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", **PROMPT}).encode()
    path = f"/model/{quote(MODEL_ID, safe='')}/{operation}"
    request = AWSRequest(method="POST", url=emulator_url + path, data=body,
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
    SigV4Auth(Credentials(EMULATOR_KEY_ID, EMULATOR_SECRET), "bedrock", "us-east-1").add_auth(request)
    return path, body, dict(request.headers)


def sse_has_delta() -> Callable[[bytes], bool]:
    seen = bytearray()

    def check(piece: bytes) -> bool:
        seen.extend(piece)
        return b"event: content_block_delta" in seen
    return check


def eventstream_has_delta() -> Callable[[bytes], bool]:
    frames = EventStreamBuffer()

    def check(piece: bytes) -> bool:
        frames.add_data(piece)
        return any(b"content_block_delta" in base64.b64decode(json.loads(f.payload)["bytes"]) for f in frames)
    return check


def first_token_ms(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str],
                   has_delta: Callable[[bytes], bool]) -> float:
    """Time until the first content delta arrives."""
    started = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    elapsed = None
    while True:
        piece = response.read1(65536)
        if not piece:
            break
        if elapsed is None and has_delta(piece):
            elapsed = (time.perf_counter() - started) * 1000.0
    if response.status != 200 or elapsed is None:
        raise RuntimeError(f"{path}: {response.status}")
    return elapsed


def measure_ttft(url: str, path: str, body: bytes, headers: dict[str, str], n: int,
                 detector: Callable[[], Callable[[bytes], bool]]) -> list[float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    for _ in range(10):
        first_token_ms(conn, path, body, headers, detector())
    samples = [first_token_ms(conn, path, body, headers, detector()) for _ in range(n)]
    conn.close()
    return samples


def relay_overheads(stack: GatewayStack) -> list[float]:
    """relay_overhead_ms of every request the plugin server logged."""
    out = []
    for line in stack.harness.plugin_server_output("bedrock"):
        if line.startswith("{") and '"event":"request"' in line:
            value = json.loads(line).get("relay_overhead_ms")
            if value is not None:
                out.append(float(value))
    return out


def measure(url: str, path: str, body: bytes, headers: dict[str, str], n: int) -> list[float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    for _ in range(20):
        timed(conn, path, body, headers)     # warm-up: connections, instances, caches
    samples = [timed(conn, path, body, headers) for _ in range(n)]
    conn.close()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--json", default="bench/results/overhead.json")
    args = parser.parse_args(argv)
    with GatewayStack() as stack:
        direct = measure(stack.emulator.url, *direct_request(stack.emulator.url), args.requests)
        gateway_body = json.dumps({"model": "haiku", **PROMPT}).encode()
        gateway_headers = {"Content-Type": "application/json", "X-API-Key": "dev-admin-key"}
        via = measure(stack.proxy_url, "/v1/messages", gateway_body, gateway_headers, args.requests)
        relay_plain = relay_overheads(stack)
        stream_n = max(50, args.requests // 5)
        path, body, signed = direct_request(stack.emulator.url, operation="invoke-with-response-stream")
        ttft_direct = measure_ttft(stack.emulator.url, path, body, signed, stream_n, eventstream_has_delta)
        stream_body = json.dumps({"model": "haiku", "stream": True, **PROMPT}).encode()
        ttft_via = measure_ttft(stack.proxy_url, "/v1/messages", stream_body, gateway_headers, stream_n,
                                sse_has_delta)
        relay_stream = relay_overheads(stack)[len(relay_plain):]
        conn = http.client.HTTPConnection("127.0.0.1", stack.proxy_port, timeout=30)
        conn.request("POST", "/v1/messages", body=gateway_body, headers=gateway_headers)
        response = conn.getresponse()
        response.read()
        request_id = response.getheader("X-Kong-Request-Id")
        stack.harness.wait_for_log(request_id)
        stats = stack.harness.request_stats(request_id)
    result = {"requests": args.requests, "concurrency": 1}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        result[f"direct_{name}_ms"] = round(percentile(direct, q), 3)
        result[f"gateway_{name}_ms"] = round(percentile(via, q), 3)
        result[f"added_{name}_ms"] = round(percentile(via, q) - percentile(direct, q), 3)
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        result[f"relay_overhead_{name}_ms"] = round(percentile(relay_plain, q), 3)
        result[f"relay_overhead_stream_{name}_ms"] = round(percentile(relay_stream, q), 3)
        result[f"ttft_direct_{name}_ms"] = round(percentile(ttft_direct, q), 3)
        result[f"ttft_gateway_{name}_ms"] = round(percentile(ttft_via, q), 3)
        result[f"ttft_added_{name}_ms"] = round(percentile(ttft_via, q) - percentile(ttft_direct, q), 3)
    result["stream_requests"] = stream_n
    result["direct_mean_ms"] = round(statistics.fmean(direct), 3)
    result["gateway_mean_ms"] = round(statistics.fmean(via), 3)
    result["rpc_round_trips_per_request"] = stats["rpc_calls"]
    result["rpc_round_trips_by_plugin"] = stats["by_plugin"]
    print(f"{'':28}{'p50':>9}{'p95':>9}{'p99':>9}   (ms, {args.requests} sequential non-stream requests)")
    for label, key in (("direct to emulator", "direct"), ("through the gateway", "gateway"),
                       ("added by the gateway", "added")):
        print(f"{label:28}" + "".join(f"{result[f'{key}_{q}_ms']:>9.2f}" for q in ("p50", "p95", "p99")))
    for label, key in (("relay's own work (non-stream)", "relay_overhead"),
                       ("relay's own work (stream)", "relay_overhead_stream"),
                       ("stream TTFT direct", "ttft_direct"), ("stream TTFT through gateway", "ttft_gateway"),
                       ("stream TTFT added", "ttft_added")):
        print(f"{label:28}" + "".join(f"{result[f'{key}_{q}_ms']:>9.2f}" for q in ("p50", "p95", "p99")))
    print(f"RPC round trips per request (Kong <-> plugin server): {stats['rpc_calls']}  {stats['by_plugin']}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
