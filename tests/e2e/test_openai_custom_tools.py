"""OpenAI custom tools (free-form input, as GPT-5's apply_patch) through the whole stack, with the official SDK."""

import openai
import pytest

from tests.e2e.clients import last_sent, oa

GRAMMAR = 'start: "*** Begin Patch" LF hunk+ "*** End Patch"'
RESPONSES_TOOL = {"type": "custom", "name": "apply_patch", "description": "Edit files with a patch.",
                  "format": {"type": "grammar", "syntax": "lark", "definition": GRAMMAR}}
CHAT_TOOL = {"type": "custom", "custom": {"name": "apply_patch", "description": "Edit files with a patch.",
                                          "format": {"type": "grammar",
                                                     "grammar": {"syntax": "lark", "definition": GRAMMAR}}}}
ASK = "Fix the cart total. call apply_patch"


def _bedrock_tool(stack) -> dict:
    [spec] = [tool["toolSpec"] for tool in last_sent(stack)["body"]["toolConfig"]["tools"] if "toolSpec" in tool]
    return spec


def test_responses_custom_tool_round_trip(stack):
    client = oa(stack)
    first = client.responses.create(model="sonnet", input=ASK, tools=[RESPONSES_TOOL])
    [call] = [item for item in first.output if item.type == "custom_tool_call"]
    assert call.name == "apply_patch" and isinstance(call.input, str) and call.input
    spec = _bedrock_tool(stack)
    assert spec["name"] == "apply_patch" and spec["description"] == "Edit files with a patch."
    assert spec["inputSchema"]["json"]["properties"]["input"]["description"].endswith(GRAMMAR)
    second = client.responses.create(model="sonnet", tools=[RESPONSES_TOOL], input=[
        {"role": "user", "content": ASK}, call.model_dump(exclude_none=True),
        {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "patched"}])
    assert "tool result patched" in second.output_text
    sent = last_sent(stack)["body"]["messages"]
    assert sent[1]["content"][-1]["toolUse"]["input"] == {"input": call.input}


def test_responses_stream_sends_the_custom_input_in_pieces(stack):
    client = oa(stack)
    whole = client.responses.create(model="sonnet", input=ASK, tools=[RESPONSES_TOOL])
    with client.responses.stream(model="sonnet", input=ASK, tools=[RESPONSES_TOOL]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.custom_tool_call_input.delta"]
    [done] = [e for e in events if e.type == "response.custom_tool_call_input.done"]
    [call] = [item for item in final.output if item.type == "custom_tool_call"]
    expected = next(item.input for item in whole.output if item.type == "custom_tool_call")
    assert "".join(deltas) == done.input == call.input == expected
    assert final.status == "completed"


def test_chat_custom_tool_round_trip(stack):
    client = oa(stack)
    completion = client.chat.completions.create(
        model="sonnet", max_tokens=200, tools=[CHAT_TOOL],
        tool_choice={"type": "custom", "custom": {"name": "apply_patch"}},
        messages=[{"role": "user", "content": "Fix the cart total."}])
    [call] = completion.choices[0].message.tool_calls
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.type == "custom" and call.custom.name == "apply_patch" and call.custom.input
    assert last_sent(stack)["body"]["toolConfig"]["toolChoice"] == {"tool": {"name": "apply_patch"}}
    follow_up = client.chat.completions.create(
        model="sonnet", max_tokens=200, tools=[CHAT_TOOL],
        messages=[{"role": "user", "content": "Fix the cart total."},
                  {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                  {"role": "tool", "tool_call_id": call.id, "content": "patched"}])
    assert "tool result patched" in follow_up.choices[0].message.content


def test_chat_stream_sends_custom_input_pieces(stack):
    client = oa(stack)
    whole = client.chat.completions.create(model="sonnet", max_tokens=200, tools=[CHAT_TOOL],
                                           messages=[{"role": "user", "content": ASK}])
    chunks = list(client.chat.completions.create(model="sonnet", max_tokens=200, tools=[CHAT_TOOL], stream=True,
                                                 messages=[{"role": "user", "content": ASK}]))
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].type == "custom" and calls[0].custom["name"] == "apply_patch"
    assert "".join(call.custom["input"] for call in calls) == whole.choices[0].message.tool_calls[0].custom.input
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("tools", [
    [{"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "ebnf", "definition": "x"}}],
    [{"type": "custom"}],
])
def test_a_malformed_custom_tool_is_a_400_before_any_call(stack, tools):
    before = len(stack.emulator_control("GET", "/_emulator/requests").json())
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack).responses.create(model="sonnet", input=ASK, tools=tools)
    assert exc.value.body["param"] == "tools.0"
    assert len(stack.emulator_control("GET", "/_emulator/requests").json()) == before
