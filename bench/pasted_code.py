"""How often the guardrails block a developer's pasted code, by language.

    python -m bench.pasted_code [--files 300] [--json bench/results/pasted_code.json]

Real code found on this machine (Python's standard library always; npm's
JavaScript, PostgreSQL's extension SQL, C headers, shell scripts, Perl modules
and YAML where installed), cut into 40-line pastes behind a question, each
scanned as one user turn with the default configuration. Every block here is a
false positive unless the file itself is an injection test fixture.
"""

from __future__ import annotations

import argparse
import json
import random
import sysconfig
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from bench.report import write_results
from kong_plugins.guardrails.detectors import CATEGORIES
from kong_plugins.guardrails.scanner import Scanner

PASTE_LINES = 40


def stdlib_files() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return [p for p in [*stdlib.glob("*.py"), *stdlib.glob("*/*.py")]
            if "test" not in p.parts[-2] and "idlelib" not in p.parts]


def _shell_scripts() -> list[Path]:
    found = []
    for path in Path("/usr/bin").iterdir():
        try:
            with path.open("rb") as f:
                first = f.readline(100)
        except OSError:
            continue
        if first.startswith(b"#!") and first.rstrip().endswith((b"/sh", b"/bash")):
            found.append(path)
    return found


def sources() -> dict[str, list[Path]]:
    return {
        "python": stdlib_files(),
        "javascript": list(Path("/usr/lib/node_modules/npm").glob("**/*.js")),
        "sql": list(Path("/usr/share/postgresql").glob("*/extension/*.sql")),
        "c": list(Path("/usr/include").glob("*.h")) + list(Path("/usr/include/linux").glob("*.h")),
        "shell": _shell_scripts() if Path("/usr/bin").is_dir() else [],
        "perl": list(Path("/usr/share/perl").glob("5*/**/*.pm")),
        "yaml": list(Path(__file__).parent.parent.glob(".dev/litellm/**/*.yaml")),
    }


def pastes(files: Iterable[Path], limit_files: int, seed: int = 7) -> Iterator[str]:
    """40-line pastes of the first `limit_files` files in a seeded shuffle, behind a question."""
    chosen = sorted(files)
    random.Random(seed).shuffle(chosen)
    for path in chosen[:limit_files]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        for start in range(0, len(lines), PASTE_LINES):
            chunk = "\n".join(lines[start:start + PASTE_LINES])
            if len(chunk) >= 200:
                yield f"Why does this fail?\n\n{chunk}"


def user_turn(text: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": text}]}).encode()


def blocked(scanner: Scanner, texts: Iterable[str]) -> tuple[int, Counter]:
    total, counts = 0, Counter()
    for text in texts:
        total += 1
        counts.update(scanner.scan(user_turn(text)).found.keys())
    return total, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300, help="files per language")
    parser.add_argument("--json", default="bench/results/pasted_code.json")
    args = parser.parse_args(argv)
    scanner = Scanner({})
    results = {}
    print(f"\npasted code blocked by the default guardrails ({PASTE_LINES}-line pastes, % of pastes)")
    print(f"  {'language':11s} {'pastes':>6s} " + " ".join(f"{c:>13s}" for c in CATEGORIES))
    for language, files in sources().items():
        total, counts = blocked(scanner, pastes(files, args.files))
        if not total:
            print(f"  {language:11s} {'-':>6s}  (none on this machine)")
            continue
        share = {c: round(100 * counts[c] / total, 2) for c in CATEGORIES}
        results[language] = {"pastes": total, "blocked_percent": share}
        print(f"  {language:11s} {total:6d} " + " ".join(f"{share[c]:12.2f}%" for c in CATEGORIES))
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
