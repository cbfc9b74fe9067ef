import json

import pytest

from kong_plugins.context import Usage
from kong_plugins.formats import openai_chat, openai_chat_stream
from kong_plugins.formats.body import RequestError


def test_request_to_internal_model():
    req = {"model": "sonnet", "max_completion_tokens": 50, "temperature": 1.7, "stop": "END",
           "messages": [{"role": "system", "content": "Be terse."},
                        {"role": "developer", "content": [{"type": "text", "text": "Bullets."}]},
                        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                     {"type": "image_url",
                                                      "image_url": {"url": "data:image/jpeg;base64,/9j/"}}]},
                        {"role": "assistant", "content": None, "tool_calls": [
                            {"id": "call_1", "type": "function",
                             "function": {"name": "look", "arguments": "{\"x\":1}"}}]},
                        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
                        {"role": "user", "content": "thanks"}],
           "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
           "tool_choice": "required", "parallel_tool_calls": False, "stream": True}
    out = openai_chat.to_anthropic(req, default_max_tokens=4096)
    assert out["system"] == "Be terse.\n\nBullets."
    assert out["max_tokens"] == 50 and out["temperature"] == 1.0 and out["stop_sequences"] == ["END"]
    assert out["messages"][0]["content"][1]["source"] == {"type": "base64", "media_type": "image/jpeg",
                                                          "data": "/9j/"}
    assert out["messages"][1]["content"] == [{"type": "tool_use", "id": "call_1", "name": "look",
                                              "input": {"x": 1}}]
    # the tool result and the next user text merge into one user turn (strict alternation)
    assert [b["type"] for b in out["messages"][2]["content"]] == ["tool_result", "text"]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert out["stream"] is True


def test_a_conversation_opening_with_the_assistant_starts_with_a_short_user_turn_as_bedrock_requires():
    """A chatbot's greeting first: OpenAI takes it, Bedrock's 400 said "A conversation must start with a user
    message"; the assistant's turn itself goes as it was, after the system prompt."""
    req = {"messages": [{"role": "system", "content": "Be kind."}, {"role": "assistant", "content": "Hi! Need help?"},
                        {"role": "user", "content": "Where is my order?"}]}
    out = openai_chat.to_anthropic(req, default_max_tokens=10)
    assert out["system"] == "Be kind."
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": openai_chat.OPENING_TURN}]},
                               {"role": "assistant", "content": [{"type": "text", "text": "Hi! Need help?"}]},
                               {"role": "user", "content": [{"type": "text", "text": "Where is my order?"}]}]
    unchanged = openai_chat.to_anthropic({"messages": req["messages"][2:]}, default_max_tokens=10)
    assert unchanged["messages"] == out["messages"][2:]


@pytest.mark.parametrize("body,param", [
    ({"messages": [{"role": "user", "content": "x"}], "n": 9}, "n"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}]},
     "messages.0.content.0"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}, "max_completion_tokens"),
])
def test_bad_requests_name_the_field(body, param):
    with pytest.raises(RequestError) as err:
        openai_chat.to_anthropic(openai_chat.parse_request(json.dumps(body).encode()), default_max_tokens=10)
    assert err.value.param == param


def test_completion_and_usage_semantics():
    message = {"content": [{"type": "text", "text": "Hi"},
                           {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}],
               "stop_reason": "tool_use"}
    out = openai_chat.completion_from_message(message, Usage(input=10, output=5, cache_read=100),
                                              model="sonnet", completion_id="chatcmpl-1", created=1)
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": "{\"a\": 1}"}
    assert out["usage"]["prompt_tokens"] == 110 and out["usage"]["total_tokens"] == 115
    assert out["usage"]["prompt_tokens_details"]["cached_tokens"] == 100


def test_chunks_follow_openai_streaming_shape():
    r = openai_chat_stream.ChunkRenderer(model="sonnet", completion_id="c1", include_usage=True)
    events = [{"type": "message_start", "message": {}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
              {"type": "content_block_start", "index": 1,
               "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}}},
              {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
              {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 3}},
              {"type": "message_stop"}]
    lines = [line for e in events for line in r.render(e, Usage(input=4, output=3))]
    assert lines[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}   # at message_start: the stream is open
    assert [c["choices"][0]["delta"] for c in chunks[1:3]] == [{"content": ""}, {"content": "Hi"}]
    assert chunks[3]["choices"][0]["delta"]["tool_calls"][0]["index"] == 0
    assert chunks[5]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[6]["choices"] == [] and chunks[6]["usage"]["total_tokens"] == 7
    assert all(c["usage"] is None for c in chunks[:6])


@pytest.mark.parametrize("field, value", [("tools", True), ("tools", {"type": "function"}), ("stop", 5),
                                          ("stop", {"a": 1})])
def test_tools_and_stop_of_the_wrong_type_are_request_errors(field, value):
    """Found by the fuzz test once a raising plugin phase counted as a failure: these raised TypeError."""
    with pytest.raises(RequestError) as exc:
        openai_chat.to_anthropic({"messages": [{"role": "user", "content": "hi"}], field: value}, 10)
    assert exc.value.param == field
