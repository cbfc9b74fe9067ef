"""Guardrail scan speed: 10 KB to 1 MB of benign prompts, and adversarial near-matches.

    python -m bench.guardrails

Targets (issue #5): a 100 KB request scans in p50 <= 2 ms, time grows linearly with
size, and 1 MB of repeated near-matches finishes in <= 50 ms.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

from bench.report import write_results
from kong_plugins.guardrails.scanner import Scanner

CORPUS = Path(__file__).resolve().parent.parent / "tests/guardrails/corpus/benign.jsonl"
LICENSES = Path("/usr/share/common-licenses")   # Debian's base-files: GPL, Apache, BSD... plain English
README = Path(__file__).resolve().parent.parent / "README.md"
ADVERSARIAL = {
    "quote tautologies": "' or 'a'='b ",
    "Luhn-invalid card numbers": "4111 1111 1111 1112 ",
    "cvv words without codes": "cvv code 12 ",
    "password is <word>": "password is required ",
    "password: x1": "password: x1 ",
    "refund wording": "refund to the customer keep ",
    "union select prose": "x union select ",
    "nested quotes": "'\"'\"'\"--",
}
RANDOM_WORDS = "select union drop table or and password token secret card refund coupon order price stack".split()
RANDOM_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 ' \" ; = : - # / * ( ) @ . , \näöüéèñ€"


def random_words_and_punctuation(size: int, rng: random.Random) -> str:
    """Never repeating: the input that made one big RE2 automaton spend 1.1 s per MB."""
    parts, length = [], 0
    while length < size:
        if rng.random() < 0.3:
            part = rng.choice(RANDOM_WORDS)
        else:
            part = "".join(rng.choices(RANDOM_CHARS, k=rng.randint(1, 12)))
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)[:size]


def body(text: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": text}]}).encode()


def timed(scanner: Scanner, payload: bytes, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        scanner.scan(payload)
        out.append((time.perf_counter() - started) * 1000)
    return out


def ordinary_prose():
    """License texts where the system has them. The README is no longer ordinary prose: it quotes
    the payloads the guardrails block (`' OR 1=1`, test card numbers), so it is blocked, at more cost."""
    texts = [p.read_text(errors="replace") for p in sorted(LICENSES.glob("*")) if p.is_file()]
    if texts:
        prose = "\n".join(texts)
        return "ordinary prose (licenses)", lambda: prose
    prose = README.read_text()
    return "documentation (README)", lambda: prose


def main() -> int:
    scanner = Scanner({})
    benign = [json.loads(line)["text"] for line in CORPUS.read_text().splitlines()]
    rng = random.Random(7)
    print(f"{'user turn':34}{'p50 ms':>9}{'p95 ms':>9}")
    results = {}
    for label, source in (("near-miss benign prompts", lambda: rng.choice(benign)), ordinary_prose()):
        for size in (10_000, 100_000, 1_000_000):
            text = ""
            while len(text) < size:
                text += source() + "\n"
            samples = timed(scanner, body(text[:size]), 50 if size < 1_000_000 else 10)
            results[f"{label} {size}"] = statistics.median(samples)
            print(f"{label:26}{size // 1000:>5} KB{statistics.median(samples):>9.2f}"
                  f"{sorted(samples)[int(len(samples) * 0.95) - 1]:>9.2f}")
    print(f"\n{'1 MB adversarial':28}{'ms':>9}  verdict")
    for name, unit in ADVERSARIAL.items():
        payload = body((unit * (1_000_000 // len(unit) + 1))[:1_000_000])
        samples = timed(scanner, payload, 3)
        found = sorted(scanner.scan(payload).found)
        results[f"adversarial_{name}"] = max(samples)
        print(f"{name:28}{max(samples):>9.1f}  {found or 'nothing'}")
    samples = [timed(scanner, body(random_words_and_punctuation(1_000_000, rng)), 1)[0] for _ in range(3)]
    results["adversarial_random words and punctuation, each new"] = max(samples)
    print(f"{'random words+punctuation':28}{max(samples):>9.1f}  (three texts never seen before)")
    write_results("bench/results/guardrails.json", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
