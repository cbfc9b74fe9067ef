"""Plugin-server memory over a long mixed run: 200s, guardrail 403s and budget 429s.

The 403 and 429 answers end the request with `kong.response.exit`, the path
with open memory-leak reports in the Python PDK. RSS is read after a warm-up
(caches, pools and Prometheus series all populated) and again at the end;
growth in percent is what the target is about. Open file descriptors too.
"""

from __future__ import annotations

from typing import Callable

import psutil

from bench.load import Call, concurrent
from bench.targets import OurGateway

CARD_PROMPT = "Please charge my card 4111 1111 1111 1111 for the order."
EXPECTED = {200, 403, 429}


def mixed_calls(make_chat: Callable[..., Call]) -> list[Call]:
    """8 allowed calls, 1 guardrail block, 1 budget rejection, in every 10."""
    ok = make_chat("Benchmark prompt: summarise the order status.", "dev-developer-key")
    return [ok] * 4 + [make_chat(CARD_PROMPT, "dev-developer-key")] + [ok] * 4 + \
        [make_chat("Where is my parcel?", "dev-guest-key")]


def memory_run(gateway: OurGateway, n: int, concurrency: int, make_chat: Callable[..., Call]) -> dict:
    calls = mixed_calls(make_chat)
    server = psutil.Process(gateway.plugin_server_pid)
    warmup = concurrent(calls, max(2000, n // 20), concurrency)
    rss_start, fds_start = server.memory_info().rss, server.num_fds()
    run = concurrent(calls, n, concurrency)
    rss_end, fds_end = server.memory_info().rss, server.num_fds()
    statuses = warmup.statuses + run.statuses
    return {
        "requests": n, "warmup_requests": sum(warmup.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "unexpected": sum(v for k, v in statuses.items() if k not in EXPECTED) + warmup.errors + run.errors,
        "rss_start_mib": round(rss_start / 2**20, 1), "rss_end_mib": round(rss_end / 2**20, 1),
        "rss_growth_pct": round(100.0 * (rss_end - rss_start) / rss_start, 2),
        "fds_start": fds_start, "fds_end": fds_end, "elapsed_s": round(run.elapsed_s, 1),
    }
