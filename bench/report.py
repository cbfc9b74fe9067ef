"""The one table `make bench` prints, and the issue's targets checked against the same run."""

from __future__ import annotations

import json
from pathlib import Path

from bench.targets import LITELLM_VERSION

ROWS = (("direct_invoke", "direct InvokeModel (baseline)"), ("direct_converse", "direct Converse (baseline)"),
        ("kong_only", "Kong alone (no Python plugins)"),
        ("gateway_memory", "this gateway, memory budgets"), ("gateway_redis", "this gateway, Redis budgets"),
        ("litellm", f"LiteLLM {LITELLM_VERSION}"))


def _cells(values: dict) -> str:
    return "".join(f"{values[q]:>8.2f}" for q in ("p50", "p95", "p99"))


def _cpu_split(result: dict) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in result["cpu_ms_per_request_c1"].items())


def print_report(results: dict, concurrency: int) -> None:
    c = f"c{concurrency}"
    print(f"\n{'':32}{'c=1 latency (ms)':>24}{f'c={concurrency} latency (ms)':>24}{'stream TTFT (ms)':>24}"
          f"{'rps':>8}{'CPU s/1k':>10}")
    print(f"{'':32}" + "     p50     p95     p99" * 3)
    for key, label in ROWS:
        if key not in results:
            continue
        r = results[key]
        print(f"{label:32}{_cells(r['c1'])}{_cells(r[c])}{_cells(r['ttft'])}"
              f"{r['throughput_rps']:>8.0f}{r['cpu_s_per_1k']:>10.2f}")
        if "added" in r:
            a = r["added"]
            base = results["settings"]["baselines"][key].removeprefix("direct_")
            print(f"{'  added (vs direct ' + base + ')':32}{_cells(a['c1'])}{_cells(a[c])}{_cells(a['ttft'])}")
    spell = results["settings"].get("wakeup_round_trip_us")
    if spell:
        print(f"\nthe machine's spell (bench.wakeups: a Unix-socket round trip left to the scheduler; quiet 70-90 "
              f"us, busy 200-400): {spell['before']:.0f} us before the c=1 and stream runs, {spell['after']:.0f} after")
    ours = results["gateway_memory"]
    if "over_kong_only" in ours:
        over = ours["over_kong_only"]
        print(f"\nour plugins + relay over Kong alone (ms): c=1 p50 {over['c1']['p50']:.2f}, p99 {over['c1']['p99']:.2f}; "
              f"stream TTFT p50 {over['ttft']['p50']:.2f}, p99 {over['ttft']['p99']:.2f}")
    print(f"\nPDK round trips per request (harness counter): {ours['pdk']['rpc_calls']}  {ours['pdk']['by_plugin']}")
    only = ours["plugin_server_only"]
    print(f"plugin server alone (socket driven, {only['requests']} requests, {only['round_trips_per_request']:.0f} "
          f"round trips): p50 {only['p50_ms']:.2f} ms, p95 {only['p95_ms']:.2f}, p99 {only['p99_ms']:.2f}")
    print(f"CPU ms per request at c=1: {_cpu_split(ours)}")
    if "cpu_ms_per_request_c1" in results.get("kong_only", {}):
        print(f"  Kong alone: {_cpu_split(results['kong_only'])}")
    relay = ours["relay_own_ms"]
    if relay.get("requests"):
        print(f"relay's own work per call: p50 {relay['p50']:.2f} ms, p99 {relay['p99']:.2f} ms")
    for key, label in (("memory", "one repeated prompt"), ("memory_varied_prompts", "prompts never repeated")):
        if key in results:
            memory = results[key]
            print(f"plugin-server RSS over {memory['requests']} mixed requests ({label}) {memory['statuses']}: "
                  f"{memory['rss_start_mib']} MiB -> {memory['rss_end_mib']} MiB ({memory['rss_growth_pct']:+.2f}%), "
                  f"fds {memory['fds_start']} -> {memory['fds_end']}, unexpected {memory['unexpected']}")
    if "memory_large_prompts" in results:
        burst = results["memory_large_prompts"]
        print(f"plugin-server RSS over {burst['requests']} prompts of {burst['prompt_mb']} MB, {burst['concurrency']} "
              f"at a time {burst['statuses']}: {burst['rss_before_mib']} MiB, peak {burst['rss_peak_mib']} MiB, "
              f"after {burst['rss_after_mib']} MiB")
    print("\ntargets:")
    for name, value, limit, ok in targets(results):
        print(f"  {'met   ' if ok else 'MISSED'} {name}: {value} (target {limit})")


def targets(results: dict) -> list[tuple[str, str, str, bool]]:
    ours = results["gateway_memory"]["added"]
    out = [
        ("added p50 at c=1", f"{ours['c1']['p50']:.2f} ms", "<= 2 ms", ours["c1"]["p50"] <= 2.0),
        ("added p99 at c=1", f"{ours['c1']['p99']:.2f} ms", "<= 6 ms", ours["c1"]["p99"] <= 6.0),
        ("stream TTFT added p50", f"{ours['ttft']['p50']:.2f} ms", "<= 2 ms", ours["ttft"]["p50"] <= 2.0),
        ("PDK round trips per request", str(results["gateway_memory"]["pdk"]["rpc_calls"]), "<= 10",
         results["gateway_memory"]["pdk"]["rpc_calls"] <= 10),
        ("plugin-server RSS growth, one repeated prompt", f"{results['memory']['rss_growth_pct']:+.2f}%", "<= 5%",
         results["memory"]["rss_growth_pct"] <= 5.0),
    ]
    if "memory_varied_prompts" in results:
        growth = results["memory_varied_prompts"]["rss_growth_pct"]
        out.append(("plugin-server RSS growth, prompts never repeated", f"{growth:+.2f}%", "<= 5%", growth <= 5.0))
    if "litellm" in results:
        theirs = results["litellm"]["added"]["c1"]["p50"]
        ratio = theirs / ours["c1"]["p50"] if ours["c1"]["p50"] > 0 else float("inf")
        out.append(("added p50 vs LiteLLM's", f"{ratio:.1f}x lower", ">= 3x lower", ratio >= 3.0))
    return out


def write_results(path: str, results: object) -> None:
    """A benchmark's numbers as indented JSON under bench/results (the directory made if missing)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=2) + "\n")
