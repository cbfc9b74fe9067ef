"""Gateway overhead side by side: direct to the emulator, this gateway (memory and Redis budgets), LiteLLM.

    python -m bench.compare [--quick] [--no-litellm] [--json bench/results/compare.json]

One run, one machine, loopback only, a fixed number of requests, then it stops.
Every gateway runs at once and the sequential latencies are taken in
alternating slices (bench.load.interleaved), so a drift in the machine's speed
hits every path alike; the saturation runs follow, one path at a time. Every
path answers the same OpenAI chat call for the same model from the same
emulator process (zero configured latency); "added" is a gateway's percentile
minus the direct call's at the same concurrency, for the Bedrock operation that
gateway makes, read from the emulator's request log before the run (Converse,
for this gateway and LiteLLM alike). Also measured for this gateway: Kong's own
share (the same Kong plugins and one upstream hop, without our Python plugins:
the signed Converse call through a /kong-only route), PDK round trips (the
harness's counter), the Python chain alone on the plugin server's socket
(bench.driver), and plugin-server RSS over a long mix of 200s, guardrail 403s
and budget 429s (bench.memory).
"""

from __future__ import annotations

import argparse
import json
from urllib.parse import quote, urlsplit

import psutil
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.load import Call, concurrent, eventstream_delta, interleaved, openai_sse_delta, send, sequential, summary
from bench.memory import large_prompt_burst, memory_run
from bench.report import print_report, write_results
from bench.targets import (LITELLM_KEY, MODEL_ID, LiteLLMProxy, OurGateway, cpu_seconds, start_emulator,
                           start_redis)
from bench.wakeups import measure as measure_wakeups
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


def direct_call(emulator_url: str, operation: str, stream: bool, system: str | None = None) -> Call:
    """A signed Bedrock Runtime call, replayed as is (the emulator accepts a signature for 5 minutes)."""
    if operation == "invoke":
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": MAX_TOKENS,
                "messages": [{"role": "user", "content": PROMPT}]}
        if system is not None:
            body["system"] = system
        suffix = "invoke-with-response-stream" if stream else "invoke"
    else:
        body = {"messages": [{"role": "user", "content": [{"text": PROMPT}]}],
                "inferenceConfig": {"maxTokens": MAX_TOKENS}}
        if system is not None:
            body["system"] = [{"text": system}]
        suffix = "converse-stream" if stream else "converse"
    path = f"/model/{quote(MODEL_ID, safe='')}/{suffix}"
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=emulator_url + path, data=data,
                         headers={"Content-Type": "application/json", "Accept": "application/json"})
    SigV4Auth(Credentials(EMULATOR_KEY_ID, EMULATOR_SECRET), "bedrock", "us-east-1").add_auth(request)
    return Call(emulator_url, path, data, dict(request.headers), eventstream_delta if stream else None)


def kong_only_call(gateway_url: str, emulator_url: str, stream: bool) -> Call:
    """The signed Converse call sent through Kong alone (GatewayStack's /kong-only route, no Python plugins).

    Converse, as our relay makes it for the chat call, so Kong's share and ours are measured on one operation.
    """
    direct = direct_call(emulator_url, "converse", stream)
    return Call(gateway_url, "/kong-only" + direct.path, direct.body,
                {**direct.headers, "Host": urlsplit(emulator_url).netloc, "X-API-Key": API_KEY}, direct.first_token)


def chat_call(url: str, headers: dict[str, str], stream: bool, content: str = PROMPT,
              system: str | None = None) -> Call:
    messages = [{"role": "user", "content": content}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    body = {"model": "haiku", "max_tokens": MAX_TOKENS, "messages": messages}
    if stream:
        body["stream"] = True
    return Call(url, "/v1/chat/completions", json.dumps(body).encode(),
                {"Content-Type": "application/json", **headers}, openai_sse_delta if stream else None)


def upstream_operation(emulator_url: str, call: Call) -> str:
    """The Bedrock operation (invoke, converse) one non-streamed `call` makes, from the emulator's request log."""
    log = emulator_url + "/_emulator/requests"
    requests.delete(log, timeout=10).raise_for_status()
    conn = call.connect()
    status, _, _ = send(conn, call)
    conn.close()
    entries = requests.get(log, timeout=10).json()
    if status != 200 or len(entries) != 1:
        raise RuntimeError(f"probe of {call.url}{call.path}: HTTP {status}, {len(entries)} Bedrock calls")
    return entries[0]["operation"]


def saturation(call: Call, pid: int, n_concurrent: int, concurrency: int) -> dict:
    """A concurrent run: latency under load, throughput, and the target's CPU per 1k requests."""
    cpu_before = cpu_seconds(pid)
    run = concurrent([call], n_concurrent, concurrency)
    cpu = cpu_seconds(pid) - cpu_before
    if run.errors or set(run.statuses) != {200}:
        raise RuntimeError(f"concurrent run: {dict(run.statuses)}, {run.errors} connection errors")
    return {f"c{concurrency}": summary(run.latencies), "throughput_rps": round(run.throughput, 1),
            "cpu_s_per_1k": round(cpu / (n_concurrent / 1000), 3)}


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


def our_gateway_extras(gateway: OurGateway, n: int, emulator_pid: int) -> dict:
    """Where our time goes: CPU per process, PDK round trips, the chain alone, the relay's own work."""
    probe = chat_call(gateway.url, {"X-API-Key": API_KEY}, False)
    result = {"cpu_ms_per_request_c1": cpu_split(probe, {"harness (Kong's part)": gateway.pid,
                                                          "plugin server": gateway.plugin_server_pid,
                                                          "emulator": emulator_pid}, n)}
    conn = probe.connect()
    conn.request("POST", probe.path, body=probe.body, headers=probe.headers)
    response = conn.getresponse()
    response.read()
    request_id = response.getheader("X-Kong-Request-Id")   # the conversation bench.driver replays
    result["pdk"] = gateway.stats(request_id)
    result["plugin_server_only"] = gateway.drive(request_id, 3000)
    result["relay_own_ms"] = gateway.relay_overheads()
    return result


def wakeup_round_trip_us() -> float:
    """The machine's spell: one process waking another (bench.wakeups, left to the scheduler).

    Our path crosses processes about 24 times, LiteLLM's about 4, so a slow spell
    weighs most on ours; printed with the table so that runs can be compared.
    """
    return measure_wakeups(2000)["unpinned"]["round_trip_us"]


def start_targets(emulator_url: str, redis_port: int, with_litellm: bool) -> dict[str, object]:
    """Every gateway at once, so their latencies can be measured side by side (bench.load.interleaved)."""
    redis_budgets = {**BUDGETS, "storage": "redis", "redis": {"host": "127.0.0.1", "port": redis_port}}
    running: dict[str, object] = {}
    try:
        for name, budgets in (("gateway_memory", BUDGETS), ("gateway_redis", redis_budgets)):
            running[name] = OurGateway(external_emulator_url=emulator_url, consumer_rate_limit=RATE_LIMIT,
                                       config_overrides={"token-meter": budgets}, kong_only_route=True)
        if with_litellm:
            running["litellm"] = LiteLLMProxy(emulator_url)
    except BaseException:
        for target in running.values():
            target.stop()
        raise
    return running


def paths(emulator_url: str, emulator_pid: int, running: dict) -> dict[str, tuple]:
    """Result name -> (make_call(stream) -> Call, pid whose CPU is counted), in table order."""
    ours = running["gateway_memory"]
    out = {"direct_invoke": (lambda s: direct_call(emulator_url, "invoke", s), emulator_pid),
           "direct_converse": (lambda s: direct_call(emulator_url, "converse", s), emulator_pid),
           "kong_only": (lambda s: kong_only_call(ours.url, emulator_url, s), ours.pid)}
    for name in ("gateway_memory", "gateway_redis"):
        out[name] = (lambda s, g=running[name]: chat_call(g.url, {"X-API-Key": API_KEY}, s), running[name].pid)
    if "litellm" in running:
        litellm = running["litellm"]
        out["litellm"] = (lambda s: chat_call(litellm.url, {"Authorization": f"Bearer {LITELLM_KEY}"}, s),
                          litellm.pid)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per path")
    parser.add_argument("--concurrent-requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stream-requests", type=int, default=300)
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--varied-memory-requests", type=int, default=30_000,
                        help="the same mix, every allowed call with a prompt never sent before")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM (it installs into .dev/litellm)")
    parser.add_argument("--quick", action="store_true", help="small counts, to check the script runs")
    parser.add_argument("--json", default="bench/results/compare.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.concurrent_requests, args.stream_requests, args.memory_requests = 100, 320, 30, 2000
        args.varied_memory_requests = 2000
    sizes = {"n": args.requests, "n_concurrent": args.concurrent_requests, "concurrency": args.concurrency,
             "n_stream": args.stream_requests}
    results: dict = {"settings": {**sizes, "memory_requests": args.memory_requests,
                                 "varied_memory_requests": args.varied_memory_requests, "model": MODEL_ID,
                                  "max_tokens": MAX_TOKENS}}
    emulator, emulator_url = start_emulator()
    redis_server, redis_port = start_redis()
    running: dict = {}
    try:
        running = start_targets(emulator_url, redis_port, not args.no_litellm)
        measured = paths(emulator_url, emulator.proc.pid, running)
        baselines = {name: "direct_" + upstream_operation(emulator_url, make(False))
                     for name, (make, _pid) in measured.items() if not name.startswith("direct_")}
        results["settings"]["baselines"] = baselines
        spell = results["settings"]["wakeup_round_trip_us"] = {"before": wakeup_round_trip_us()}
        c1 = interleaved({name: make(False) for name, (make, _pid) in measured.items()}, args.requests)
        ttft = interleaved({name: make(True) for name, (make, _pid) in measured.items()}, args.stream_requests,
                           warmup=10)
        spell["after"] = wakeup_round_trip_us()
        for name, (make, pid) in measured.items():
            results[name] = {"c1": summary(c1[name]), "ttft": summary(ttft[name]),
                             **saturation(make(False), pid, args.concurrent_requests, args.concurrency)}
        for name in ("gateway_memory", "gateway_redis"):
            results[name].update(our_gateway_extras(running[name], args.requests, emulator.proc.pid))
        results["kong_only"]["cpu_ms_per_request_c1"] = cpu_split(
            measured["kong_only"][0](False), {"harness (Kong's part)": running["gateway_memory"].pid,
                                              "emulator": emulator.proc.pid}, args.requests)
        ours = running["gateway_memory"]
        make_chat = lambda content, key, stream=False: chat_call(   # noqa: E731
            ours.url, {"X-API-Key": key}, stream, content)
        results["memory"] = memory_run(ours, args.memory_requests, args.concurrency, make_chat)
        results["memory_varied_prompts"] = memory_run(ours, args.varied_memory_requests, args.concurrency,
                                                      make_chat, varied=True)
        results["memory_large_prompts"] = large_prompt_burst(ours, make_chat)
    finally:
        for target in running.values():
            target.stop()
        redis_server.stop()
        emulator.stop()
    for name, base in results["settings"].get("baselines", {}).items():
        results[name]["added"] = added(results[name], results[base], args.concurrency)
    if "kong_only" in results:     # what our plugins and the relay add on top of Kong's own work
        results["gateway_memory"]["over_kong_only"] = added(results["gateway_memory"], results["kong_only"],
                                                            args.concurrency)
    print_report(results, args.concurrency)
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
