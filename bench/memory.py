"""Plugin-server memory over a long mixed run: 200s, guardrail 403s and budget 429s.

The 403 and 429 answers end the request with `kong.response.exit`, the path
with open memory-leak reports in the Python PDK. RSS is read after a warm-up
(caches, pools and Prometheus series all populated) and again at the end;
growth in percent is what the target is about. Open file descriptors too.

Two runs. With one repeated prompt, growth can only be a leak. With a user turn
no earlier call carried (a question about a paste of real source code:
bench.pasted_code's pastes of every standard-library module), the guardrails'
RE2 automata grow their state caches as they meet new text, as in production;
that growth is bounded by their memory budgets (kong_plugins/guardrails).

Then a burst of large prompts (9 MB, the size Kong's request-size limit lets through, 20 at a
time): RSS before, at its peak, and once the burst is over. A request's buffers must go back
when it ends (kong_plugins.malloc_tuning, and pdk_events dropping the last PDK answer).
"""

from __future__ import annotations

import sysconfig
import threading
import time
from collections.abc import Sequence
from itertools import cycle, islice
from pathlib import Path
from typing import Callable

import psutil

from bench.load import Call, concurrent
from bench.pasted_code import pastes
from bench.targets import OurGateway

CARD_PROMPT = "Please charge my card 4111 1111 1111 1111 for the order."
EXPECTED = {200, 403, 429}
ALLOWED_PER_10 = 8


def distinct_prompts(count: int) -> tuple[list[str], int]:
    """`count` questions about pasted source, and how many of them are distinct (all, unless the stdlib runs out)."""
    every_module = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    distinct = list(islice(pastes(every_module, limit_files=len(every_module)), count))
    return list(islice(cycle(distinct), count)), len(distinct)


class MixedCalls(Sequence):
    """Request i: in every 10, 8 allowed calls (each with the next prompt), 1 guardrail block, 1 budget rejection."""

    def __init__(self, make_chat: Callable[..., Call], prompts: list[str], length: int) -> None:
        self._make_chat, self._prompts, self._length = make_chat, prompts, length
        self._blocked = make_chat(CARD_PROMPT, "dev-developer-key")
        self._over_budget = make_chat("Where is my parcel?", "dev-guest-key")

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, i: int) -> Call:    # type: ignore[override]
        slot = i % 10
        if slot == 4:
            return self._blocked
        if slot == 9:
            return self._over_budget
        allowed = i // 10 * ALLOWED_PER_10 + slot - (slot > 4)
        return self._make_chat(self._prompts[allowed % len(self._prompts)], "dev-developer-key")


def allowed(requests: int) -> int:
    """How many allowed calls (each with its own prompt) `requests` of the mix make, rounded up to whole tens."""
    return -(-requests // 10) * ALLOWED_PER_10


REPEATED_PROMPT = "Benchmark prompt: summarise the order status."


def memory_run(gateway: OurGateway, n: int, concurrency: int, make_chat: Callable[..., Call],
               varied: bool = False) -> dict:
    warmup_n = max(2000, n // 20)
    total = allowed(warmup_n) + allowed(n)
    prompts, distinct = distinct_prompts(total) if varied else ([REPEATED_PROMPT] * total, 1)
    server = psutil.Process(gateway.plugin_server_pid)
    warmup = concurrent(MixedCalls(make_chat, prompts[:allowed(warmup_n)], warmup_n), warmup_n, concurrency)
    rss_start, fds_start = server.memory_info().rss, server.num_fds()
    run = concurrent(MixedCalls(make_chat, prompts[allowed(warmup_n):], n), n, concurrency)
    rss_end, fds_end = server.memory_info().rss, server.num_fds()
    statuses = warmup.statuses + run.statuses
    return {
        "requests": n, "warmup_requests": sum(warmup.statuses.values()), "distinct_prompts": distinct,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "unexpected": sum(v for k, v in statuses.items() if k not in EXPECTED) + warmup.errors + run.errors,
        "rss_start_mib": round(rss_start / 2**20, 1), "rss_end_mib": round(rss_end / 2**20, 1),
        "rss_growth_pct": round(100.0 * (rss_end - rss_start) / rss_start, 2),
        "fds_start": fds_start, "fds_end": fds_end, "elapsed_s": round(run.elapsed_s, 1),
    }


def large_prompt_burst(gateway: OurGateway, make_chat: Callable[..., Call], rounds: int = 3, concurrency: int = 20,
                       megabytes: int = 9) -> dict:
    """`rounds` bursts of `concurrency` prompts of `megabytes` MB (the admin key: no budget refuses them); the
    plugin server's RSS sampled every 50 ms."""
    server = psutil.Process(gateway.plugin_server_pid)
    prompt = "lorem ipsum dolor sit amet " * (megabytes * 2**20 // 27)
    call = make_chat(prompt, "dev-admin-key")
    before, peak, done = server.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    statuses: dict[int, int] = {}
    try:
        for _ in range(rounds):
            run = concurrent([call], concurrency, concurrency)
            for status, count in run.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
    finally:
        done.set()
        sampler.join()
    after = server.memory_info().rss
    return {"requests": rounds * concurrency, "concurrency": concurrency, "prompt_mb": megabytes,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "rss_before_mib": round(before / 2**20, 1), "rss_peak_mib": round(peak[0] / 2**20, 1),
            "rss_after_mib": round(after / 2**20, 1)}
