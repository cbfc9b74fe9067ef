"""Gateway overhead side by side: direct to the emulator, this gateway (memory and Redis budgets), LiteLLM.

    python -m bench.compare [--quick] [--no-litellm] [--json bench/results/compare.json]

One run, one machine, loopback only, a fixed number of requests, then it stops.
Every path answers the same OpenAI chat call for the same model from the same
emulator process (zero configured latency); "added" is a gateway's percentile
minus the direct call's at the same concurrency (InvokeModel for this gateway,
Converse for LiteLLM, which is what each sends). Also measured for this
gateway: Kong's own share (the same Kong plugins and one upstream hop, without
our Python plugins: InvokeModel through a /kong-only route), PDK round trips
(the harness's counter), the Python chain alone on the plugin server's socket
(bench.driver), and plugin-server RSS over a long mix of 200s, guardrail 403s
and budget 429s (bench.memory).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import psutil
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.load import Call, concurrent, eventstream_delta, openai_sse_delta, sequential, summary
from bench.memory import memory_run
from bench.report import print_report
from bench.targets import (LITELLM_KEY, MODEL_ID, LiteLLMProxy, OurGateway, cpu_seconds, start_emulator,
                           start_redis)
from tests.stack import EMULATOR_KEY_ID, EMULATOR_SECRET

API_KEY = "dev-developer-key"
PROMPT = "Benchmark prompt: summarise the order status."
MAX_TOKENS = 32
RATE_LIMIT = {"second": 1_000_000, "policy": "local", "limit_by": "consumer"}
"""Kong's rate-limiting stays in the chain, with a limit the benchmark never reaches."""
BUDGETS = {"limits": [{"role": "developer", "tokens_per_minute": 1_000_000_000,
                       "tokens_per_day": 1_000_000_000_000, "monthly_budget_usd": 10_000_000}],
           "consumer_overrides": [{"consumer": "guest-user", "tokens_per_minute": 1}]}
"""Real budget checks on every call (limits far away), and a guest whose every call is a 429."""


def direct_call(emulator_url: str, operation: str, stream: bool) -> Call:
    """A signed Bedrock Runtime call, replayed as is (the emulator accepts a signature for 5 minutes)."""
    if operation == "invoke":
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": MAX_TOKENS,
                "messages": [{"role": "user", "content": PROMPT}]}
        suffix = "invoke-with-response-stream" if stream else "invoke"
    else:
        body = {"messages": [{"role": "user", "content": [{"text": PROMPT}]}],
                "inferenceConfig": {"maxTokens": MAX_TOKENS}}
        suffix = "converse-stream" if stream else "converse"
    path = f"/model/{quote(MODEL_ID, safe='')}/{suffix}"
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=emulator_url + path, data=data,
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
    SigV4Auth(Credentials(EMULATOR_KEY_ID, EMULATOR_SECRET), "bedrock", "us-east-1").add_auth(request)
    return Call(emulator_url, path, data, dict(request.headers), eventstream_delta if stream else None)


def kong_only_call(gateway_url: str, emulator_url: str, stream: bool) -> Call:
    """The signed InvokeModel call sent through Kong alone (GatewayStack's /kong-only route, no Python plugins)."""
    direct = direct_call(emulator_url, "invoke", stream)
    return Call(gateway_url, "/kong-only" + direct.path, direct.body,
                {**direct.headers, "Host": urlsplit(emulator_url).netloc, "X-API-Key": API_KEY}, direct.first_token)


def chat_call(url: str, headers: dict[str, str], stream: bool, content: str = PROMPT) -> Call:
    body = {"model": "haiku", "max_tokens": MAX_TOKENS, "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
    return Call(url, "/v1/chat/completions", json.dumps(body).encode(),
                {"Content-Type": "application/json", **headers}, openai_sse_delta if stream else None)


def measure(make_call, pid: int, n: int, n_concurrent: int, concurrency: int, n_stream: int) -> dict:
    """Sequential latency, TTFT, and a concurrent run with throughput and CPU per 1k requests."""
    result = {"c1": summary(sequential(make_call(False), n)),
              "ttft": summary(sequential(make_call(True), n_stream, warmup=10))}
    cpu_before = cpu_seconds(pid)
    run = concurrent([make_call(False)], n_concurrent, concurrency)
    cpu = cpu_seconds(pid) - cpu_before
    if run.errors or set(run.statuses) != {200}:
        raise RuntimeError(f"concurrent run: {dict(run.statuses)}, {run.errors} connection errors")
    result.update({f"c{concurrency}": summary(run.latencies), "throughput_rps": round(run.throughput, 1),
                   "cpu_s_per_1k": round(cpu / (n_concurrent / 1000), 3)})
    return result


def added(target: dict, base: dict, concurrency: int) -> dict:
    out = {}
    for key in ("c1", f"c{concurrency}", "ttft"):
        out[key] = {q: round(target[key][q] - base[key][q], 3) for q in ("p50", "p95", "p99")}
    return out


def cpu_split(call: Call, pids: dict[str, int], n: int) -> dict[str, float]:
    """CPU milliseconds per sequential request, per process (children not counted): where the time goes."""
    procs = {name: psutil.Process(pid) for name, pid in pids.items()}
    before = {name: sum(proc.cpu_times()[:2]) for name, proc in procs.items()}
    sequential(call, n, warmup=0)
    return {name: round(1000 * (sum(proc.cpu_times()[:2]) - before[name]) / n, 3) for name, proc in procs.items()}


def our_gateway_results(gateway: OurGateway, sizes: dict, emulator_pid: int) -> dict:
    headers = {"X-API-Key": API_KEY}
    result = measure(lambda stream: chat_call(gateway.url, headers, stream), gateway.pid, **sizes)
    probe = chat_call(gateway.url, headers, False)
    result["cpu_ms_per_request_c1"] = cpu_split(probe, {"harness (Kong's part)": gateway.pid,
                                                         "plugin server": gateway.plugin_server_pid,
                                                         "emulator": emulator_pid}, sizes["n"])
    conn = probe.connect()
    conn.request("POST", probe.path, body=probe.body, headers=probe.headers)
    response = conn.getresponse()
    response.read()
    request_id = response.getheader("X-Kong-Request-Id")   # the conversation bench.driver replays
    result["pdk"] = gateway.stats(request_id)
    result["plugin_server_only"] = gateway.drive(request_id, 3000)
    result["relay_own_ms"] = gateway.relay_overheads()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per path")
    parser.add_argument("--concurrent-requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stream-requests", type=int, default=300)
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM (it installs into .dev/litellm)")
    parser.add_argument("--quick", action="store_true", help="small counts, to check the script runs")
    parser.add_argument("--json", default="bench/results/compare.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.concurrent_requests, args.stream_requests, args.memory_requests = 100, 320, 30, 2000
    sizes = {"n": args.requests, "n_concurrent": args.concurrent_requests, "concurrency": args.concurrency,
             "n_stream": args.stream_requests}
    results: dict = {"settings": {**sizes, "memory_requests": args.memory_requests, "model": MODEL_ID,
                                  "max_tokens": MAX_TOKENS}}
    emulator, emulator_url = start_emulator()
    redis_server, redis_port = start_redis()
    try:
        for operation in ("invoke", "converse"):
            results[f"direct_{operation}"] = measure(lambda s, op=operation: direct_call(emulator_url, op, s),
                                                     emulator.proc.pid, **sizes)
        redis_budgets = {**BUDGETS, "storage": "redis", "redis": {"host": "127.0.0.1", "port": redis_port}}
        for name, budgets in (("gateway_memory", BUDGETS), ("gateway_redis", redis_budgets)):
            gateway = OurGateway(external_emulator_url=emulator_url, consumer_rate_limit=RATE_LIMIT,
                                 config_overrides={"token-meter": budgets}, kong_only_route=True)
            try:
                results[name] = our_gateway_results(gateway, sizes, emulator.proc.pid)
                if name == "gateway_memory":
                    results["kong_only"] = measure(lambda s: kong_only_call(gateway.url, emulator_url, s),
                                                   gateway.pid, **sizes)
                    results["memory"] = memory_run(gateway, args.memory_requests, args.concurrency,
                                                   lambda content, key, stream=False: chat_call(
                                                       gateway.url, {"X-API-Key": key}, stream, content))
            finally:
                gateway.stop()
        if not args.no_litellm:
            litellm = LiteLLMProxy(emulator_url)
            try:
                results["litellm"] = measure(lambda s: chat_call(litellm.url, {"Authorization": f"Bearer {LITELLM_KEY}"},
                                                                 s), litellm.pid, **sizes)
            finally:
                litellm.stop()
    finally:
        redis_server.stop()
        emulator.stop()
    for name, base in (("kong_only", "direct_invoke"), ("gateway_memory", "direct_invoke"),
                       ("gateway_redis", "direct_invoke"), ("litellm", "direct_converse")):
        if name in results:
            results[name]["added"] = added(results[name], results[base], args.concurrency)
    if "kong_only" in results:     # what our plugins and the relay add on top of Kong's own work
        results["gateway_memory"]["over_kong_only"] = added(results["gateway_memory"], results["kong_only"],
                                                            args.concurrency)
    print_report(results, args.concurrency)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
