"""OpenAI's Codex CLI 0.169, unmodified, on Bedrock through the gateway's Responses API.

Codex sends every turn with a `namespace` tool (its sub-agent tools) and the hosted `web_search`
tool; before the gateway flattened the one and left out the other, every Codex turn was a 400.
The binary comes from the npm registry (`make codex`, run by .ci/run).
"""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODEX = Path(os.environ.get("CODEX_BIN") or ROOT / ".dev/codex/node_modules/.bin/codex")


@pytest.fixture(scope="module")
def codex():
    assert CODEX.exists(), f"Codex not installed at {CODEX}: run `make codex`"
    return str(CODEX)


def run_codex(codex, stack, tmp_path, prompt):
    """`codex exec` with the gateway as a custom Responses provider, as a developer would configure it."""
    home = tmp_path / ".codex"
    home.mkdir()
    (home / "config.toml").write_text(f'''model = "sonnet"
model_provider = "gateway"

[model_providers.gateway]
name = "Kong LLM gateway"
base_url = "{stack.proxy_url}/v1"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"
''')
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CODEX_HOME": str(home),
           "GATEWAY_API_KEY": "dev-developer-key", "RUST_LOG": "error"}
    return subprocess.run([codex, "exec", "--skip-git-repo-check", prompt], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def served(stack):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if r.get("status") == 200]


def tool_names(call):
    return [tool["toolSpec"]["name"] for tool in call["body"]["toolConfig"]["tools"] if "toolSpec" in tool]


def test_a_codex_turn_runs_on_bedrock(stack, codex, tmp_path):
    done = run_codex(codex, stack, tmp_path, "say hi")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Emulated reply" in done.stdout
    [call] = served(stack)
    assert call["operation"] == "converse-stream"
    names = tool_names(call)
    assert "exec_command" in names and "multi_agent_v1__close_agent" in names
    assert not any("web_search" in name for name in names)   # hosted by OpenAI: left out


def test_codex_runs_a_namespaced_tool_the_model_calls_and_sends_its_result_back(stack, codex, tmp_path):
    done = run_codex(codex, stack, tmp_path, "call multi_agent_v1__close_agent")
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = served(stack)
    [use] = [b["toolUse"] for b in second["body"]["messages"][-2]["content"] if "toolUse" in b]
    [result] = [b["toolResult"] for b in second["body"]["messages"][-1]["content"] if "toolResult" in b]
    assert use["name"] == "multi_agent_v1__close_agent" and result["toolUseId"] == use["toolUseId"]
    # Codex's sub-agent handler ran the call (it rejects the emulator's made-up agent id), which it only does
    # for a call that names the namespace: a bare `close_agent` would be an unsupported call
    assert "invalid agent id" in result["content"][0]["text"]
    assert "tool result invalid agent id" in done.stdout
