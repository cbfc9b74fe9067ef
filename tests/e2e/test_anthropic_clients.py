"""The Anthropic Messages API as the anthropic SDK and Claude Code use it every day, through the gateway."""

import os
import subprocess
from pathlib import Path

import anthropic
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = Path(os.environ.get("CLAUDE_BIN") or ROOT / ".dev/claude-code/node_modules/.bin/claude")
QUIET = {"DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
HELLO = [{"role": "user", "content": "Hello"}]


def client(stack, key="dev-admin-key"):
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


def served(stack):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if r.get("status") == 200]


@pytest.mark.parametrize("asked", ["claude-sonnet-4-5", "sonnet", "claude-3-5-sonnet-latest"])
def test_an_answer_names_the_model_asked_for(stack, asked):
    """Bedrock's body names its own id (claude-sonnet-4-5-20250929); the client reads back the name it sent,
    streamed or not, as OpenAI clients and Anthropic clients of Converse models already did."""
    whole = client(stack).messages.create(model=asked, max_tokens=16, messages=HELLO)
    assert whole.model == asked
    with client(stack).messages.stream(model=asked, max_tokens=16, messages=HELLO) as stream:
        assert stream.get_final_message().model == asked


def test_a_fallback_answer_names_the_model_that_answered(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "throttle", "count": -1, "model": "sonnet"})
    raw = client(stack).messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=16, messages=HELLO)
    assert raw.headers["X-Bedrock-Fallback-From"] == "sonnet" and raw.parse().model == "haiku"


def test_claude_code_keeps_its_thinking_through_a_tool_loop(stack, tmp_path):
    """Claude Code drops an answer's thinking blocks from its next call when the answer names another model than
    the one it asked for; with thinking on, Claude refuses a tool loop's next call whose assistant turn lost them."""
    assert CLAUDE.exists(), f"Claude Code not installed at {CLAUDE}: run `make claude-code`"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **QUIET, "ANTHROPIC_BASE_URL": stack.proxy_url,
           "ANTHROPIC_API_KEY": "dev-developer-key", "ANTHROPIC_MODEL": "claude-sonnet-4-5"}
    done = subprocess.run([str(CLAUDE), "-p", "please call Read on a file"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loop = [c["body"] for c in served(stack) if c["operation"] == "invoke-with-response-stream"
            and any(m["role"] == "assistant" for m in c["body"]["messages"])]
    assert loop, "Claude Code never answered a tool call"
    assert loop[0]["thinking"]["type"] == "enabled"
    called = [m for m in loop[0]["messages"] if m["role"] == "assistant"][-1]
    assert called["content"][0]["type"] == "thinking" and called["content"][0]["signature"]


def test_count_tokens_takes_what_messages_takes(stack):
    """count_tokens sent Bedrock the request as the client wrote it, so what /v1/messages serves (a system turn
    inside messages, as Claude Code 2.1 sends; a field or a beta Bedrock does not take) was a 400 when counted."""
    asked = {"model": "sonnet", "system": "Be terse.", "messages": HELLO}
    plain = client(stack).messages.count_tokens(**asked).input_tokens
    claude_code_style = {"model": "sonnet", "messages": [{"role": "system", "content": "Be terse."}, *HELLO],
                         "extra_body": {"container": "c-1", "anthropic_beta": ["mid-conversation-system-2026-04-07"]}}
    client(stack).messages.create(max_tokens=16, **claude_code_style)   # served
    assert client(stack).messages.count_tokens(**claude_code_style).input_tokens == plain
