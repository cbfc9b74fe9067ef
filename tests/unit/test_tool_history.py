"""A call that offers no tools (an Agents SDK handoff, `tool_choice: "none"`) with tool calls in its history:
Bedrock's Converse refuses toolUse/toolResult blocks without a toolConfig, so they go as text."""

import json

import pytest

from kong_plugins.formats import converse, openai_chat, tool_history
from kong_plugins.formats.body import RequestError

TOOL = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
HISTORY = [
    {"role": "user", "content": "Weather in Oslo?"},
    {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius": 4}'},
    {"role": "user", "content": "And now?"},
]


def converse_body(**request):
    return converse.request_from_anthropic(openai_chat.to_anthropic({"messages": HISTORY, **request}, 512))


def test_without_tools_the_history_goes_as_text_and_no_tool_config():
    body = converse_body()
    assert "toolConfig" not in body
    assert body["messages"][1] == {"role": "assistant", "content": [
        {"text": "Checking."}, {"text": '[Called the tool weather with input {"city": "Oslo"}]'}]}
    assert body["messages"][2]["content"] == [{"text": '[The tool weather returned:]\n{"celsius": 4}'},
                                              {"text": "And now?"}]
    assert not any("toolUse" in b or "toolResult" in b for m in body["messages"] for b in m["content"])


def test_tool_choice_none_offers_no_tools_since_converse_cannot_say_none():
    body = converse_body(tools=[TOOL], tool_choice="none")
    assert "toolConfig" not in body
    assert body["messages"][1]["content"][1]["text"].startswith("[Called the tool weather")


def test_with_tools_offered_the_history_keeps_its_tool_blocks():
    body = converse_body(tools=[TOOL])
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "weather"
    assert body["messages"][1]["content"][1]["toolUse"]["input"] == {"city": "Oslo"}
    assert "toolResult" in body["messages"][2]["content"][0]


def test_json_mode_with_tool_choice_none_still_forces_its_answer_tool():
    internal = openai_chat.to_anthropic({"messages": HISTORY, "tools": [TOOL], "tool_choice": "none",
                                         "response_format": {"type": "json_object"}}, 512)
    assert internal["tool_choice"]["type"] == "tool"
    assert any(b.get("type") == "tool_use" for m in internal["messages"] for b in m["content"])


def test_an_anthropic_clients_none_on_a_converse_model_offers_no_tools_either():
    request = {"max_tokens": 100, "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
               "tool_choice": {"type": "none"}, "messages": [
                   {"role": "user", "content": "hi"},
                   {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "weather", "input": {}}]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": True,
                                                 "content": [{"type": "text", "text": "timeout"}]}]}]}
    body = converse.request_from_anthropic(request)
    assert "toolConfig" not in body
    assert body["messages"][2]["content"] == [{"text": "[The tool weather failed:]"}, {"text": "timeout"}]
    del request["tool_choice"], request["tools"]
    with pytest.raises(RequestError):      # Anthropic's own API refuses tool blocks without tools: so does ours
        converse.request_from_anthropic(request)


@pytest.mark.parametrize("messages", [[{"role": "user", "content": 3}], ["x"], [{"role": "user"}], "x"])
def test_malformed_messages_are_left_for_the_translation_to_refuse(messages):
    assert tool_history.as_text(messages) == messages
    assert json.dumps(tool_history.as_text(messages))


def test_a_cache_mark_on_a_tool_block_stays_on_the_text_it_became():
    """Claude Code marks its newest tool result as the end of the cached prefix: a handoff keeps the cache point."""
    mark = {"type": "ephemeral"}
    request = {"max_tokens": 100, "tools": [{"name": "grep", "input_schema": {"type": "object"}}],
               "tool_choice": {"type": "none"}, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "grep", "input": {},
                                           "cache_control": mark}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "cache_control": mark,
                                      "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                                     {"type": "text", "text": "go on"}]}]}
    body = converse.request_from_anthropic(request)
    assert body["messages"][1]["content"] == [{"text": "[Called the tool grep with input {}]"},
                                              {"cachePoint": {"type": "default"}}]
    assert body["messages"][2]["content"] == [{"text": "[The tool grep returned:]"}, {"text": "a"}, {"text": "b"},
                                              {"cachePoint": {"type": "default"}}, {"text": "go on"}]
    assert "cache_control" not in request["messages"][2]["content"][0]["content"][1]   # the client's body untouched
