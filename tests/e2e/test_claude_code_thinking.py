"""Claude Code's calls as it shapes them for the model it believes it talks to, served by the model the gateway has.

Claude Code 2.1.197 (captured from the binary) sends `thinking: {"type": "adaptive"}` with `output_config.effort`
for Claude names it takes for 4.6 and later: its defaults claude-opus-4-8 and claude-sonnet-5 (what its `sonnet` and
`opus` aliases mean, so also ANTHROPIC_MODEL=sonnet) and names it does not know (a catalogue's `opus-4-7`), and for
those it puts the agent list in a `role: "system"` turn after the user's. The gateway serves claude-sonnet-5 with
the catalogue's Sonnet 4.5, which Bedrock refuses adaptive thinking on (400, "Input tag 'adaptive' found using
'type' does not match any of the expected tags: 'disabled', 'enabled'"), and Opus 4.7 on Mantle takes no system
turn: before these tests every such call was a 400.
"""

import json

import anthropic
import pytest

from tests.e2e.clients import bedrock_runtime, sent

BETAS = ["claude-code-20250219", "context-1m-2025-08-07", "interleaved-thinking-2025-05-14",
         "thinking-token-count-2026-05-13", "context-management-2025-06-27", "prompt-caching-scope-2026-01-05",
         "mid-conversation-system-2026-04-07", "effort-2025-11-24"]
SYSTEM = [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197"},
          {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
           "cache_control": {"type": "ephemeral"}},
          {"type": "text", "text": "You are an interactive agent that helps users with software engineering tasks.",
           "cache_control": {"type": "ephemeral"}}]
AGENTS = "Available agent types for the Agent tool:\n- general-purpose: researches complex questions."
READ = {"name": "Read", "description": "Reads a file.",
        "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}}


def claude_code_call(model, prompt="say hi", max_tokens=64000):
    """Claude Code's first call of a session, for a model it takes for Claude 4.6 or later."""
    return {"model": model, "max_tokens": max_tokens, "system": SYSTEM, "tools": [READ],
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt,
                                                        "cache_control": {"type": "ephemeral"}}]},
                         {"role": "system", "content": AGENTS}],
            "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": "s-1"})},
            "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}}


def client(stack, key="dev-developer-key"):
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


def streamed(stack, body, key="dev-developer-key"):
    with client(stack, key).beta.messages.stream(**body, betas=BETAS) as stream:
        return stream.get_final_message(), stream.response.headers


def test_claude_codes_sonnet_thinks_on_the_budget_bedrock_takes(stack):
    """ANTHROPIC_MODEL=sonnet (Claude Code sends claude-sonnet-5), served by Sonnet 4.5, streamed."""
    message, headers = streamed(stack, claude_code_call("claude-sonnet-5"))
    assert headers["X-Bedrock-Model"] == "sonnet" and message.model == "claude-sonnet-5"
    assert [block.type for block in message.content] == ["thinking", "text"] and message.content[0].signature
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    thinking = sent(stack)[-1]["body"]["thinking"]   # the effort's share of max_tokens, as on Converse
    assert thinking == {"type": "enabled", "budget_tokens": 51200}


def test_the_next_turn_and_its_count_after_a_tool_call(stack):
    """The tool loop's next call (the thinking block sent back, a tool result with an image), unstreamed, and
    count_tokens for it: the counted body is the one sent, so it takes the same thinking."""
    first, _ = streamed(stack, claude_code_call("claude-opus-4-8", "please call Read"), key="dev-admin-key")
    assert first.stop_reason == "tool_use" and first.content[0].type == "thinking"
    call = next(block for block in first.content if block.type == "tool_use")
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    result = {"type": "tool_result", "tool_use_id": call.id, "content": [
        {"type": "text", "text": "a picture"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}]}
    body = claude_code_call("claude-opus-4-8", max_tokens=8000)
    body["messages"] += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                         {"role": "user", "content": [result]}]
    admin = client(stack, "dev-admin-key")
    counted = admin.beta.messages.count_tokens(**{k: v for k, v in body.items() if k not in ("max_tokens", "metadata")},
                                               betas=BETAS)
    raw = admin.beta.messages.with_raw_response.create(**body, betas=BETAS)
    message = raw.parse()
    assert raw.headers["X-Bedrock-Model"] == "opus" and message.stop_reason == "end_turn"
    assert "tool result" in message.content[-1].text
    assert counted.input_tokens == message.usage.input_tokens + message.usage.cache_read_input_tokens \
        + message.usage.cache_creation_input_tokens


def test_too_few_tokens_for_a_budget_answer_without_thinking(stack):
    """Adaptive thinking may think not: a max_tokens under the smallest budget (1,024) is served without it."""
    message = client(stack).beta.messages.create(**claude_code_call("claude-sonnet-5", max_tokens=512), betas=BETAS)
    assert [block.type for block in message.content] == ["text"]
    assert "thinking" not in sent(stack)[-1]["body"]


def test_a_forced_tool_call_is_made_without_thinking(stack):
    """Forced tool use "is incompatible with manual extended thinking but works with adaptive thinking" (Anthropic's
    extended-thinking page), which may think not: the call is made without thinking. Before 2026-11-25 it went to
    Sonnet 4.5 as thinking on a budget with the forced tool, which Claude refuses (400 "Thinking may not be enabled
    when tool_choice forces tool use.")."""
    for tool_choice in ({"type": "tool", "name": "Read"}, {"type": "any"}):
        body = {**claude_code_call("claude-sonnet-5", "read the notes file"), "tool_choice": tool_choice}
        message, _ = streamed(stack, body)
        assert [block.type for block in message.content] == ["tool_use"] and message.stop_reason == "tool_use"
        assert "thinking" not in sent(stack)[-1]["body"]


def test_opus_4_7_on_mantle_takes_claude_codes_system_turn(stack):
    """ANTHROPIC_MODEL=opus-4-7 (the catalogue's name, unknown to Claude Code): its system turn joins the system
    prompt, as on InvokeModel, for Mantle's model and for the Opus 4.5 it falls back to."""
    message, headers = streamed(stack, claude_code_call("opus-4-7"), key="dev-admin-key")
    assert headers["X-Bedrock-Model"] == "opus-4-7" and message.content[-1].text
    mantle = sent(stack)[-1]["body"]
    assert [m["role"] for m in mantle["messages"]] == ["user"] and mantle["system"][-1]["text"] == AGENTS
    assert mantle["thinking"] == {"type": "adaptive"}   # Opus 4.7 thinks adaptively only: sent as it came
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "unavailable", "count": -1,
                                                               "operation": "mantle-messages"})
    message, headers = streamed(stack, claude_code_call("opus-4-7"), key="dev-admin-key")
    assert headers["X-Bedrock-Fallback-From"] == "opus-4-7" and headers["X-Bedrock-Model"] == "opus"
    assert [block.type for block in message.content] == ["thinking", "text"]


@pytest.mark.parametrize("operation", ["invoke_model", "invoke_model_with_response_stream"])
def test_bedrock_mode_opus_served_by_an_older_opus(stack, operation):
    """CLAUDE_CODE_USE_BEDROCK with ANTHROPIC_MODEL=opus: Claude Code calls us.anthropic.claude-opus-4-6-v1 with
    adaptive thinking; the catalogue's Opus 4.5 answers it (the family rule), on the budget it takes."""
    body = {"anthropic_version": "bedrock-2023-05-31", "anthropic_beta": ["interleaved-thinking-2025-05-14"],
            "max_tokens": 64000, "system": SYSTEM, "tools": [READ], "thinking": {"type": "adaptive"},
            "messages": [{"role": "user", "content": "say hi"}]}
    runtime = bedrock_runtime(stack, key="dev-admin-key")
    answer = getattr(runtime, operation)(modelId="us.anthropic.claude-opus-4-6-v1", body=json.dumps(body))
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-bedrock-model"] == "opus"
    if operation == "invoke_model":
        content = json.loads(answer["body"].read())["content"]
    else:
        events = [json.loads(event["chunk"]["bytes"]) for event in answer["body"]]
        content = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert [block["type"] for block in content] == ["thinking", "text"]
    assert sent(stack)[-1]["body"]["thinking"] == {"type": "enabled", "budget_tokens": 51200}


def test_bedrock_mode_sonnet_with_an_effort_served_by_sonnet_4_5(stack):
    """CLAUDE_CODE_USE_BEDROCK with ANTHROPIC_MODEL=sonnet: Claude Code calls us.anthropic.claude-sonnet-4-6 with
    adaptive thinking and output_config.effort; Sonnet 4.5 serves it, and Bedrock answers an effort there with a
    400 (anthropics/claude-code#30795). The effort became the thinking budget, so it is not sent on."""
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 32000, "thinking": {"type": "adaptive"},
            "output_config": {"effort": "medium"}, "messages": [{"role": "user", "content": "say hi"}]}
    answer = bedrock_runtime(stack).invoke_model(modelId="us.anthropic.claude-sonnet-4-6", body=json.dumps(body))
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-bedrock-model"] == "sonnet"
    assert [block["type"] for block in json.loads(answer["body"].read())["content"]] == ["thinking", "text"]
    assert sent(stack)[-1]["body"]["thinking"] == {"type": "enabled", "budget_tokens": 16000}
    assert "output_config" not in sent(stack)[-1]["body"]


def test_bedrock_mode_counts_what_an_older_opus_serves(stack):
    """CountTokens (AWS SDKs, Claude Code's Bedrock mode) of the InvokeModel body the test above sends: before
    2026-11-25 the body inside it went on with adaptive thinking, and the Opus 4.5 serving the id refused it (400)
    while the same body invoked was served."""
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64000, "system": SYSTEM, "tools": [READ],
            "thinking": {"type": "adaptive"}, "messages": [{"role": "user", "content": "say hi"}]}
    runtime = bedrock_runtime(stack, key="dev-admin-key")
    counted = runtime.count_tokens(modelId="us.anthropic.claude-opus-4-6-v1",
                                   input={"invokeModel": {"body": json.dumps(body).encode()}})
    answer = runtime.invoke_model(modelId="us.anthropic.claude-opus-4-6-v1", body=json.dumps(body))
    usage = json.loads(answer["body"].read())["usage"]
    assert counted["inputTokens"] == usage["input_tokens"] + usage.get("cache_read_input_tokens", 0) \
        + usage.get("cache_creation_input_tokens", 0)


def test_an_effort_of_the_wrong_type_is_no_gateway_failure(stack):
    """`output_config.effort` as a list: before 2026-11-25 the plugin raised on it (a 503, "A gateway check did
    not run"); now the model thinks at the default effort, as a 4.6 would, since InvokeModel gets no output_config
    (not among bedrock_anthropic_fields)."""
    body = {**claude_code_call("claude-sonnet-5"), "output_config": {"effort": ["high"]}}
    message, _ = streamed(stack, body)
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert sent(stack)[-1]["body"]["thinking"] == {"type": "enabled", "budget_tokens": 51200}
