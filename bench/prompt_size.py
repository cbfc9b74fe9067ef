"""What each gateway adds as the request grows to Claude Code's size (its calls carry 100-300 KB).

    python -m bench.prompt_size [--requests 200] [--json bench/results/prompt_size.json]

bench.compare measures a short chat call. A developer's Claude Code call
carries tens of thousands of tokens, mostly context (system prompt, files,
tool results) around a short typed turn, and every byte goes through more steps
here than in LiteLLM: Kong reads it, kong.yaml's pre-function hands it to the
plugin server in one PDK answer, bedrock-proxy turns it into Converse, the
relay signs and sends it; the guardrails scan the user's turns. For each size,
the same call (a system prompt of Python source from the standard library, then
bench.compare's short user turn) goes straight to the emulator as Converse,
through this gateway and through LiteLLM, in alternating slices at c=1;
"added" is a gateway's p50 minus the direct call's. Bounded and loopback only.
"""

from __future__ import annotations

import argparse
import email
import http
import json
from pathlib import Path

from bench.compare import API_KEY, BUDGETS, RATE_LIMIT, chat_call, direct_call
from bench.load import interleaved, percentile
from bench.report import write_results
from bench.targets import LITELLM_KEY, LiteLLMProxy, OurGateway, start_emulator

SIZES_KB = (1, 30, 100, 300)


def context(size: int) -> str:
    """`size` characters of ordinary Python source (http, json and email from the standard library)."""
    files = [path for package in (http, json, email) for path in sorted(Path(package.__file__).parent.glob("*.py"))]
    text = ""
    while len(text) < size:
        text += "\n".join(path.read_text() for path in files)
    return text[:size]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential calls per path and size")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--json", default="bench/results/prompt_size.json")
    args = parser.parse_args(argv)
    emulator, emulator_url = start_emulator()
    ours = litellm = None
    results: dict[str, dict[str, float]] = {}
    try:
        ours = OurGateway(external_emulator_url=emulator_url, consumer_rate_limit=RATE_LIMIT,
                          config_overrides={"token-meter": BUDGETS})
        litellm = None if args.no_litellm else LiteLLMProxy(emulator_url)
        for size_kb in SIZES_KB:
            system = context(size_kb * 1000)
            calls = {"direct": direct_call(emulator_url, "converse", False, system=system),
                     "this gateway": chat_call(ours.url, {"X-API-Key": API_KEY}, False, system=system)}
            if litellm is not None:
                calls["LiteLLM"] = chat_call(litellm.url, {"Authorization": f"Bearer {LITELLM_KEY}"}, False,
                                             system=system)
            samples = interleaved(calls, args.requests, rounds=5, warmup=5)
            p50 = {name: percentile(values, 0.5) for name, values in samples.items()}
            results[f"{size_kb} KB"] = {"direct_ms": round(p50["direct"], 3),
                                        **{f"{name}_added_ms": round(p50[name] - p50["direct"], 3)
                                           for name in calls if name != "direct"}}
    finally:
        for target in (ours, litellm):
            if target is not None:
                target.stop()
        emulator.stop()
    print("\nadded p50 at c=1 (ms) by request size (a system prompt of Python source, a short user turn)")
    print(f"  {'system':>7s} {'direct':>8s} {'this gateway':>13s} {'LiteLLM':>9s} {'LiteLLM/ours':>13s}")
    for size, row in results.items():
        ours_added, theirs = row["this gateway_added_ms"], row.get("LiteLLM_added_ms")
        ratio = f"{theirs / ours_added:12.2f}x" if theirs is not None and ours_added > 0 else f"{'-':>13s}"
        print(f"  {size:>7s} {row['direct_ms']:8.2f} {ours_added:13.2f} "
              f"{theirs if theirs is not None else float('nan'):9.2f} {ratio}")
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
