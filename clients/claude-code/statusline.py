#!/usr/bin/env python3
"""Claude Code status line: what your gateway key has left, from the gateway's GET /v1/budget.

Claude Code runs a status line command on each conversation update, with the session's
JSON on stdin, and shows the first line it prints. In ~/.claude/settings.json:

    {"statusLine": {"type": "command", "command": "python3 /path/to/statusline.py"}}

It finds the gateway and key where Claude Code does (ANTHROPIC_BASE_URL with
ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN; the Bedrock and Mantle base URLs with
`X-API-Key` in ANTHROPIC_CUSTOM_HEADERS) and prints, for example:

    Sonnet 4.5 · $8.80 of $10.00 left this month · 3.9M of 4M tokens left today

Standard library only. The answer is cached for CACHE_SECONDS (the status line refreshes
often, and Kong rate-limits each key per second); the cache file holds the budget, never
the key. It never prints the key or a traceback: any failure is one short line.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

CACHE_SECONDS = 15
TIMEOUT_SECONDS = 2
BASE_URL_VARIABLES = ("ANTHROPIC_BASE_URL", "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_BEDROCK_MANTLE_BASE_URL")


def gateway(env: dict[str, str]) -> tuple[str, str] | None:
    """The gateway's base URL and the key Claude Code sends it, or None if this session does not use one."""
    base = next((env[name] for name in BASE_URL_VARIABLES if env.get(name)), None)
    key = env.get("ANTHROPIC_API_KEY") or env.get("ANTHROPIC_AUTH_TOKEN") or _custom_header_key(env)
    return (base.rstrip("/"), key) if base and key else None


def _custom_header_key(env: dict[str, str]) -> str | None:
    """`X-API-Key: <key>` among ANTHROPIC_CUSTOM_HEADERS (one `Name: value` per line)."""
    for line in (env.get("ANTHROPIC_CUSTOM_HEADERS") or "").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-api-key" and value.strip():
            return value.strip()
    return None


def budget(base: str, key: str, cache_dir: Path) -> dict[str, Any]:
    """GET /v1/budget, or its cached answer if younger than CACHE_SECONDS."""
    cache = cache_dir / f"kong-bedrock-budget-{hashlib.sha256((base + key).encode()).hexdigest()[:16]}.json"
    try:
        if time.time() - cache.stat().st_mtime < CACHE_SECONDS:
            return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    request = urllib.request.Request(base + "/v1/budget", headers={"X-API-Key": key})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        answer = json.loads(response.read())
    try:
        cache.write_text(json.dumps(answer))
    except OSError:
        pass
    return answer


def line(answer: dict[str, Any], model: str | None) -> str:
    """The status line: the monthly dollars and the day's tokens, where the caller has limits."""
    parts = [model] if model else []
    month, day = answer.get("monthly_budget_usd"), answer.get("tokens_per_day")
    if month:
        parts.append(f"${Decimal(month['remaining']):.2f} of ${Decimal(month['limit']):.2f} left this month")
    if day:
        parts.append(f"{_tokens(day['remaining'])} of {_tokens(day['limit'])} tokens left today")
    if not month and not day:
        parts.append("no gateway budget limits")
    return " · ".join(parts)


def _tokens(count: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if count >= size:
            return f"{count / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(count)


def main() -> int:
    try:
        session = json.loads(sys.stdin.read() or "{}")
    except ValueError:
        session = {}
    model = (session.get("model") or {}).get("display_name") if isinstance(session, dict) else None
    found = gateway(dict(os.environ))
    if found is None:
        print(model or "")
        return 0
    try:
        print(line(budget(*found, Path(tempfile.gettempdir())), model))
    except urllib.error.HTTPError as exc:
        print(" · ".join(filter(None, [model, f"gateway budget: HTTP {exc.code}"])))
    except Exception:  # noqa: BLE001 - a status line shows one short line, whatever went wrong
        print(" · ".join(filter(None, [model, "gateway budget unavailable"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
