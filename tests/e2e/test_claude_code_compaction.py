"""A conversation grown past the model's context window, as Claude Code meets it through the gateway.

Bedrock refuses it with a ValidationException, "Input is too long for requested model." (anthropics/claude-code
#8637, #760: Sonnet 4.5, Opus 4.5). Anthropic's API says "prompt is too long: ...", and Claude Code 2.1.197 acts
on exactly those words: it compacts the conversation and sends it again. On Bedrock's words it stops with
"API Error: 400 Input is too long for requested model." on every later prompt too, /compact included.
"""

import os
import subprocess

import anthropic
import pytest

from tests.e2e.clients import sent
from tests.e2e.test_claude_code import CLAUDE, QUIET

BEDROCK_WORDS = "Input is too long for requested model."
HELLO = [{"role": "user", "content": "Hello"}]


def too_long(stack, **where):
    stack.emulator_control("POST", "/_emulator/faults", json={"count": 1, **where})


def client(stack):
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)


@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_over_the_context_window_is_anthropics_prompt_is_too_long(stack, stream):
    too_long(stack, type="validation")
    with pytest.raises(anthropic.BadRequestError) as refused:
        if stream:
            with client(stack).messages.stream(model="sonnet", max_tokens=64, messages=HELLO) as answer:
                answer.get_final_message()
        else:
            client(stack).messages.create(model="sonnet", max_tokens=64, messages=HELLO)
    error = refused.value.body["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith("prompt is too long")
    assert BEDROCK_WORDS in error["message"]   # Bedrock's own words stay, for whoever reads them


def test_the_same_in_a_stream_bedrock_refuses_after_it_started(stack):
    too_long(stack, type="stream_exception", exception="validationException", after_events=3)
    with pytest.raises(anthropic.APIStatusError) as refused:
        with client(stack).messages.stream(model="sonnet", max_tokens=64, messages=HELLO) as answer:
            answer.get_final_message()
    assert refused.value.body["error"]["message"].startswith("prompt is too long")


def test_claude_code_compacts_the_conversation_and_goes_on(stack, tmp_path):
    assert CLAUDE.exists(), f"Claude Code not installed at {CLAUDE}: run `make claude-code`"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **QUIET, "ANTHROPIC_BASE_URL": stack.proxy_url,
           "ANTHROPIC_API_KEY": "dev-developer-key", "ANTHROPIC_MODEL": "sonnet"}

    def claude(*args):
        return subprocess.run([str(CLAUDE), "-p", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)

    assert claude("first question").returncode == 0   # a conversation: Claude Code keeps the last exchange whole
    assert claude("--continue", "second question").returncode == 0
    stack.emulator_control("DELETE", "/_emulator/requests")
    too_long(stack, type="validation", operation="invoke-with-response-stream")
    done = claude("--continue", "third question")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Emulated reply to: third question" in done.stdout
    calls = sent(stack)
    assert [c["status"] for c in calls] == [400, 200, 200]   # refused, the summary, the question again
    assert len(calls[2]["body"]["messages"]) < len(calls[0]["body"]["messages"])
