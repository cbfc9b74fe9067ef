"""The Vercel AI SDK (`ai` 6 with its OpenAI, Anthropic and Amazon Bedrock providers), unmodified, running a
two-step tool loop through the gateway as an app developer writes one (tests/e2e/js/ai_sdk_agent.cjs).

Its default OpenAI provider speaks the Responses API with `store` on, and sends the first step's assistant
message back as an `item_reference`: before the gateway kept Responses items, every such loop failed on its
second step with a 400. The packages come from the npm registry (`make ai-sdk`, run by .ci/run).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.clients import last_sent

ROOT = Path(__file__).resolve().parents[2]
MODULES = Path(os.environ.get("AI_SDK_MODULES") or ROOT / ".dev/ai-sdk/node_modules")
AGENT = Path(__file__).parent / "js/ai_sdk_agent.cjs"
MODELS = {"openai": "sonnet", "openai-chat": "sonnet", "anthropic": "claude-sonnet-4-5", "bedrock": "sonnet"}


@pytest.fixture(scope="module")
def modules():
    assert (MODULES / "ai").is_dir(), f"the AI SDK is not installed at {MODULES}: run `make ai-sdk`"
    return str(MODULES)


def run_agent(modules, stack, provider, stream, key="dev-developer-key", **extra):
    options = {"modules": modules, "baseURL": stack.proxy_url, "apiKey": key, "provider": provider,
               "model": MODELS[provider], "stream": stream, **extra}
    done = subprocess.run(["node", str(AGENT), json.dumps(options)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("stream", [False, True], ids=["generateText", "streamText"])
@pytest.mark.parametrize("provider", sorted(MODELS))
def test_a_tool_loop_runs_both_steps_on_bedrock(modules, stack, provider, stream):
    result = run_agent(modules, stack, provider, stream)
    assert "error" not in result, result
    assert [step["calls"] for step in result["steps"]] == [["weather"], []]
    assert result["steps"][0]["finish"] == "tool-calls" and result["steps"][1]["finish"] == "stop"
    assert '"celsius":21' in result["text"]        # the model's answer to the tool's result


def _assistant_turn(stack):
    """The assistant turn of the second step's Converse call, as Bedrock received it."""
    sent = last_sent(stack)
    assert sent["operation"] in ("converse", "converse-stream")
    return next(m["content"] for m in sent["body"]["messages"] if m["role"] == "assistant")


@pytest.mark.parametrize("stream", [False, True], ids=["generateText", "streamText"])
def test_the_default_openai_provider_sends_its_message_back_by_reference_and_bedrock_gets_the_text(
        modules, stack, stream):
    result = run_agent(modules, stack, "openai", stream)
    assert "error" not in result, result
    second = result["steps"][1]["input"]
    assert [item.get("type") for item in second[1:]] == ["item_reference", "function_call", "function_call_output"]
    turn = _assistant_turn(stack)
    assert turn[0] == {"text": "I'll use the weather tool."}       # what the reference named
    assert turn[1]["toolUse"]["name"] == "weather"


def test_with_store_off_the_sdk_sends_items_whole_and_the_loop_runs_the_same(modules, stack):
    result = run_agent(modules, stack, "openai", True, store=False)
    assert "error" not in result, result
    assert "item_reference" not in json.dumps(result["steps"][1]["input"])
    assert _assistant_turn(stack)[0] == {"text": "I'll use the weather tool."}
