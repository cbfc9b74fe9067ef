"""Claude Code 2.1.197, unmodified, through the gateway in its Bedrock-relevant modes.

The binary comes from the npm registry (`make claude-code`, run by .ci/run).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = Path(os.environ.get("CLAUDE_BIN") or ROOT / ".dev/claude-code/node_modules/.bin/claude")
QUIET = {"DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}


@pytest.fixture(scope="module")
def claude():
    assert CLAUDE.exists(), f"Claude Code not installed at {CLAUDE}: run `make claude-code`"
    return str(CLAUDE)


def run_claude(claude, tmp_path, env):
    full = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **QUIET, **env}
    return subprocess.run([claude, "-p", "say hi"], cwd=tmp_path, env=full, capture_output=True, text=True,
                          timeout=120)


def served(stack):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if r.get("status") == 200]


def test_anthropic_mode(stack, claude, tmp_path):
    done = run_claude(claude, tmp_path, {"ANTHROPIC_BASE_URL": stack.proxy_url,
                                         "ANTHROPIC_API_KEY": "dev-developer-key", "ANTHROPIC_MODEL": "sonnet"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Emulated reply" in done.stdout
    calls = served(stack)
    assert calls and all(c["operation"] == "invoke-with-response-stream" for c in calls)
    body = calls[0]["body"]
    # Claude Code's first-party-only shapes were translated for Bedrock
    assert all(m["role"] in ("user", "assistant") for m in body["messages"])
    assert "context_management" not in body and "claude-code-20250219" not in body.get("anthropic_beta", [])
    # Bedrock's invocation log can tell this developer's calls apart, and Claude Code's user apart from others
    pairs = json.loads(calls[0]["headers"]["x-amzn-bedrock-request-metadata"])
    assert pairs["gateway_role"] == "developer" and pairs["client_end_user"]


def test_anthropic_mode_on_a_mantle_model_named_as_the_catalogue_names_it(stack, claude, tmp_path):
    """ANTHROPIC_MODEL=opus-4-7 is no name Claude Code knows: it sends adaptive thinking and a system turn, which
    Opus 4.7 does not take; Opus 4.5, its fallback, takes no adaptive thinking (both were the client's 400)."""
    env = {"ANTHROPIC_BASE_URL": stack.proxy_url, "ANTHROPIC_API_KEY": "dev-admin-key", "ANTHROPIC_MODEL": "opus-4-7"}
    done = run_claude(claude, tmp_path, env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "unavailable", "count": -1,
                                                               "operation": "mantle-messages"})
    done = run_claude(claude, tmp_path, env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert [c["operation"] for c in served(stack)] == ["mantle-messages", "invoke-with-response-stream"]


def test_anthropic_mode_with_a_model_the_role_may_not_use_gets_a_clear_403(stack, claude, tmp_path):
    done = run_claude(claude, tmp_path, {"ANTHROPIC_BASE_URL": stack.proxy_url,
                                         "ANTHROPIC_API_KEY": "dev-guest-key", "ANTHROPIC_MODEL": "sonnet"})
    assert done.returncode != 0
    assert "403" in done.stdout + done.stderr and "haiku" in done.stdout + done.stderr


def test_bedrock_mode(stack, claude, tmp_path):
    done = run_claude(claude, tmp_path, {
        "CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_BEDROCK_BASE_URL": stack.proxy_url,
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1", "AWS_REGION": "us-east-1",
        "ANTHROPIC_CUSTOM_HEADERS": "X-API-Key: dev-developer-key"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Emulated reply" in done.stdout
    calls = served(stack)
    assert calls and calls[0]["operation"] == "invoke-with-response-stream"
    assert calls[0]["model_id"].startswith("us.anthropic.claude-")
    assert json.loads(calls[0]["headers"]["x-amzn-bedrock-request-metadata"])["gateway_role"] == "developer"


def test_mantle_mode(stack, claude, tmp_path):
    done = run_claude(claude, tmp_path, {
        "CLAUDE_CODE_USE_MANTLE": "1", "ANTHROPIC_BEDROCK_MANTLE_BASE_URL": stack.proxy_url,
        "CLAUDE_CODE_SKIP_MANTLE_AUTH": "1", "AWS_REGION": "us-east-1",
        "ANTHROPIC_CUSTOM_HEADERS": "X-API-Key: dev-admin-key"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Emulated reply" in done.stdout
    calls = served(stack)
    assert calls and calls[0]["operation"] == "mantle-messages"
    assert calls[0]["body"]["model"].startswith("anthropic.claude-opus-4-")
    assert "x-amzn-bedrock-request-metadata" not in calls[0]["headers"]    # Bedrock Mantle takes none


def test_gateway_model_discovery_fills_the_model_picker_with_what_the_role_may_use(stack, claude, tmp_path):
    """CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY: Claude Code asks GET /v1/models?limit=1000, keeps ids starting
    with claude or anthropic, and caches them for its /model picker (as "From gateway")."""
    env = {"ANTHROPIC_BASE_URL": stack.proxy_url, "ANTHROPIC_API_KEY": "dev-developer-key",
           "ANTHROPIC_MODEL": "sonnet", "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"}
    full = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
            **env}   # discovery is nonessential traffic: CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC would skip it
    done = subprocess.run([claude, "-p", "say hi"], cwd=tmp_path, env=full, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    cached = json.loads((tmp_path / ".claude/cache/gateway-models.json").read_text())
    assert cached["baseUrl"] == stack.proxy_url
    assert cached["models"] == [{"id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5"},
                                {"id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5"}]
