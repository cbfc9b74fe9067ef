"""Bounded soak: many concurrent streaming clients with a mix of roles, guardrail blocks and budget
rejections, loopback only. `make test` runs a short one; `make soak` the long one (200 clients, 60 s):

    SOAK_CLIENTS=200 SOAK_SECONDS=60 SOAK_RSS_GROWTH_LIMIT_PCT=5 python -m pytest -s tests/reliability/test_soak.py

Shows: no unexpected status or broken stream, no hung client, plugin-server RSS and open file
descriptors flat after warm-up (printed), nothing left behind once the clients stop.
"""

import os
import threading
import time
from collections import Counter

import psutil
import requests

from tests.reliability.test_no_leaks import _gauge
from tests.stack import GatewayStack

CLIENTS = int(os.environ.get("SOAK_CLIENTS", "32"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "8"))
WARMUP_SHARE = 0.4
RSS_GROWTH_LIMIT_PCT = float(os.environ.get("SOAK_RSS_GROWTH_LIMIT_PCT", "10"))
"""The long soak holds 5%; a few seconds of warm-up still first-touch caches, pools and series."""
BIG = {"tokens_per_minute": 10**9, "tokens_per_day": 10**12, "monthly_budget_usd": 10**6}
BUDGETS = {"limits": [{"role": "developer", **BIG}, {"role": "analyst", **BIG}, {"role": "ecommerce_ops", **BIG},
                      {"role": "guest", **BIG}],
           "consumer_overrides": [{"consumer": "guest-user", "tokens_per_minute": 1}]}
"""Budget checks on every call with limits out of reach, except the guest's: every one of its calls is a 429."""

# (API key, path, prompt, expected status, how a complete stream ends)
MIX = [
    ("dev-developer-key", "/v1/messages", "Summarise the order status.", 200, b"event: message_stop"),
    ("dev-analyst-key", "/v1/chat/completions", "Weekly sales by region, please.", 200, b"data: [DONE]"),
    ("dev-ops-key", "/v1/messages", "Refund order 1182 to card 4111 1111 1111 1111.", 403, None),
    ("dev-developer-key", "/v1/chat/completions", "Explain this stack trace.", 200, b"data: [DONE]"),
    ("dev-guest-key", "/v1/messages", "Where is my parcel?", 429, None),
]


def _client(stack, index: int, stop: threading.Event, tally: Counter, problems: list) -> None:
    session = requests.Session()
    turn = index
    while not stop.is_set():
        key, path, prompt, expected, stream_end = MIX[turn % len(MIX)]
        turn += 1
        body = {"model": "haiku", "max_tokens": 32, "stream": True, "messages": [{"role": "user", "content": prompt}]}
        try:
            r = session.post(stack.proxy_url + path, json=body, headers={"X-API-Key": key}, timeout=30, stream=True)
            content = r.content
        except requests.RequestException as exc:
            problems.append(type(exc).__name__)
            continue
        tally[r.status_code] += 1
        if r.status_code != expected:
            problems.append(f"{path} as {key}: {r.status_code}, expected {expected}")
        elif stream_end is not None and stream_end not in content:
            problems.append(f"{path}: stream ended early")


def test_soak():
    with GatewayStack(config_overrides={"token-meter": BUDGETS}) as stack:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 12, "tokens_per_second": 200})
        server = psutil.Process(stack.harness.plugin_server_pids()["bedrock"])
        stop, tally, problems = threading.Event(), Counter(), []
        clients = [threading.Thread(target=_client, args=(stack, i, stop, tally, problems), daemon=True)
                   for i in range(CLIENTS)]
        started = time.monotonic()
        for thread in clients:
            thread.start()
        time.sleep(SECONDS * WARMUP_SHARE)
        rss_start, fds_start, done_at_warmup = server.memory_info().rss, server.num_fds(), sum(tally.values())
        time.sleep(SECONDS * (1 - WARMUP_SHARE))
        rss_end, fds_end = server.memory_info().rss, server.num_fds()
        stop.set()
        for thread in clients:
            thread.join(max(0.1, started + SECONDS + 40 - time.monotonic()))
        hung = sum(thread.is_alive() for thread in clients)
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 12, "tokens_per_second": 0})
        growth = 100.0 * (rss_end - rss_start) / rss_start
        print(f"\nsoak: {CLIENTS} streaming clients, {SECONDS:.0f} s, {sum(tally.values())} requests "
              f"{dict(sorted(tally.items()))}, {len(problems)} unexpected; plugin-server RSS after warm-up "
              f"({done_at_warmup} requests) {rss_start / 2**20:.1f} MiB -> end {rss_end / 2**20:.1f} MiB "
              f"({growth:+.1f}%), fds {fds_start} -> {fds_end}")
        assert hung == 0, f"{hung} clients hung"
        assert not problems, problems[:10]
        assert {200, 403, 429} <= set(tally)
        assert growth <= RSS_GROWTH_LIMIT_PCT
        # Kong keeps up to 256 idle RPC connections per worker and opens one more whenever all are
        # busy, so a new concurrency peak after warm-up can still add one per client (17 for 32 clients
        # in a slow spell, 2026-11-23): bounded by the clients. A leak grows with the requests, which
        # outnumber the clients several times over after warm-up.
        served_after_warmup = sum(tally.values()) - done_at_warmup
        assert served_after_warmup >= 4 * CLIENTS, "too few requests after warm-up to tell a leak from a peak"
        assert fds_end <= fds_start + CLIENTS
        deadline = time.monotonic() + 10
        while _gauge(stack, "kong_bedrock_live_request_contexts") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gauge(stack, "kong_bedrock_live_request_contexts") == 0
        assert _gauge(stack, "kong_bedrock_phase_handlers") == 0
