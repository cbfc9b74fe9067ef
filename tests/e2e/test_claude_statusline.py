"""clients/claude-code/statusline.py against the running gateway, as Claude Code runs it."""

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import requests

from tests.stack import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "clients" / "claude-code" / "statusline.py"
SESSION = json.dumps({"session_id": "s-1", "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"}})


def status_line(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    done = subprocess.run([sys.executable, str(SCRIPT)], input=SESSION, capture_output=True, text=True, timeout=20,
                          env={**clean, "TMPDIR": str(tmp_path), **env})
    assert done.returncode == 0 and done.stderr == ""
    return done.stdout.strip()


def test_the_status_line_shows_what_the_key_has_left_and_caches_it(stack, tmp_path):
    env = {"ANTHROPIC_BASE_URL": stack.proxy_url, "ANTHROPIC_API_KEY": "dev-developer-key"}
    shown = status_line(tmp_path, **env)
    budget = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-developer-key"},
                          timeout=15).json()
    left = f"{Decimal(budget['monthly_budget_usd']['remaining']):.2f}"
    assert shown.startswith(f"Sonnet 4.5 · ${left} of $10.00 left this month · ")
    assert shown.endswith(" of 4M tokens left today")
    big = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "spend " * 40_000}]}
    spent = requests.post(stack.proxy_url + "/v1/messages", json=big, headers={"X-API-Key": "dev-developer-key"},
                          timeout=30)
    stack.harness.wait_for_log(spent.headers["X-Kong-Request-Id"])
    assert status_line(tmp_path, **env) == shown                      # cached: no request for 15 s
    (cache,) = tmp_path.glob("kong-bedrock-budget-*.json")
    assert "dev-developer-key" not in cache.read_text() and "dev-developer-key" not in cache.name
    os.utime(cache, (time.time() - 60, time.time() - 60))
    assert status_line(tmp_path, **env) != shown                      # refreshed: the call's tokens are gone


def test_bedrock_mode_headers_an_unlimited_key_a_bad_key_and_no_gateway(stack, tmp_path):
    bedrock = {"ANTHROPIC_BEDROCK_BASE_URL": stack.proxy_url, "CLAUDE_CODE_USE_BEDROCK": "1",
               "ANTHROPIC_CUSTOM_HEADERS": "X-API-Key: dev-admin-key"}
    assert status_line(tmp_path, **bedrock) == "Sonnet 4.5 · no gateway budget limits"
    wrong = status_line(tmp_path, ANTHROPIC_BASE_URL=stack.proxy_url, ANTHROPIC_API_KEY="not-a-key-canary")
    assert wrong == "Sonnet 4.5 · gateway budget: HTTP 401"
    down = status_line(tmp_path, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{free_port()}",
                       ANTHROPIC_API_KEY="dev-developer-key")
    assert down == "Sonnet 4.5 · gateway budget unavailable"
    assert status_line(tmp_path) == "Sonnet 4.5"                       # not a gateway session
