"""Does the verdict depend on where the scheduler puts the processes? Added latency by CPU placement.

    python -m bench.placement [--requests 500] [--rounds 2] [--json bench/results/placement.json]

On this machine a process woken on the other vCPU costs about 60 us more per
round trip than one woken on the same vCPU (bench.wakeups), and a request
through this gateway makes about 24 crossings, LiteLLM's about 4 (but its own
threads hand work to each other too). The main benchmark lets the scheduler
place everything on the 2 vCPUs. Here the same sequential call (c=1) goes to
direct Converse, Kong alone, this gateway and LiteLLM in alternating slices,
unpinned, split (every gateway process on the first vCPU, the load generator
and the emulator on the second: the usual isolation of a load generator from
the system under test) and with every process on one vCPU (no wake-up crosses
vCPUs: what is left is CPU work), several times over, so every placement sees
the same minutes.
"""

from __future__ import annotations

import argparse
import os

import psutil

from bench.compare import API_KEY, BUDGETS, RATE_LIMIT, chat_call, direct_call, kong_only_call
from bench.load import interleaved, percentile
from bench.report import write_results
from bench.targets import LITELLM_KEY, LiteLLMProxy, OurGateway, start_emulator

GATEWAYS = ("this gateway", "Kong alone", "LiteLLM")


def _processes(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _pin(processes: list[psutil.Process], cpus: set[int]) -> None:
    """Every thread of every process: a thread's affinity is its own once it runs."""
    for process in processes:
        for thread in process.threads():
            try:
                os.sched_setaffinity(thread.id, cpus)
            except (ProcessLookupError, PermissionError):
                pass   # a thread that just ended


def place(placement: str, gateways: list[psutil.Process], outside: list[psutil.Process], cpus: list[int]) -> None:
    if placement == "split":
        _pin(gateways, {cpus[0]})
        _pin(outside, {cpus[1]})
    elif placement == "one vCPU":
        _pin(gateways + outside, {cpus[0]})
    else:
        _pin(gateways + outside, set(cpus))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="sequential calls per path, placement and round")
    parser.add_argument("--rounds", type=int, default=2, help="times each placement is measured")
    parser.add_argument("--json", default="bench/results/placement.json")
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("bench.placement needs 2 CPUs; skipped")
        return 0
    emulator, emulator_url = start_emulator()
    ours = litellm = None
    results: dict[str, list[dict[str, float]]] = {"unpinned": [], "split": [], "one vCPU": []}
    try:
        ours = OurGateway(external_emulator_url=emulator_url, consumer_rate_limit=RATE_LIMIT,
                          config_overrides={"token-meter": BUDGETS}, kong_only_route=True)
        litellm = LiteLLMProxy(emulator_url)
        calls = {"direct": direct_call(emulator_url, "converse", False),
                 "Kong alone": kong_only_call(ours.url, emulator_url, False),
                 "this gateway": chat_call(ours.url, {"X-API-Key": API_KEY}, False),
                 "LiteLLM": chat_call(litellm.url, {"Authorization": f"Bearer {LITELLM_KEY}"}, False)}
        gateways = _processes(ours.pid) + _processes(litellm.pid)
        outside = [psutil.Process(emulator.proc.pid), psutil.Process()]
        for _ in range(args.rounds):
            for placement in results:
                place(placement, gateways, outside, cpus)
                samples = interleaved(calls, args.requests, rounds=5)
                p50 = {name: percentile(values, 0.5) for name, values in samples.items()}
                results[placement].append({name: round(p50[name] - p50["direct"], 3) for name in GATEWAYS}
                                          | {"direct": round(p50["direct"], 3)})
    finally:
        place("unpinned", [], [psutil.Process()], cpus)
        for target in (ours, litellm):
            if target is not None:
                target.stop()
        emulator.stop()
    print("\nadded p50 at c=1 (ms) by placement. split: the gateways on one vCPU, the client and the emulator on"
          " the other; one vCPU: every process on one")
    print(f"  {'placement':10s} {'direct':>7s} " + " ".join(f"{name:>13s}" for name in GATEWAYS) + "  LiteLLM/ours")
    for placement, runs in results.items():
        for run in runs:
            ratio = run["LiteLLM"] / run["this gateway"] if run["this gateway"] > 0 else float("nan")
            print(f"  {placement:10s} {run['direct']:7.2f} " + " ".join(f"{run[name]:13.2f}" for name in GATEWAYS)
                  + f"  {ratio:10.2f}x")
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
