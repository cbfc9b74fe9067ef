"""OpenAI Responses requests as Chat Completions requests, and replies as Response objects and events."""

import json

import pytest

from kong_plugins.context import Usage
from kong_plugins.formats import openai_chat, openai_chat_stream, responses_render
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.openai_responses import chat_request
from kong_plugins.formats.response_format import ANSWER_TOOL
from kong_plugins.formats.tool_kinds import ToolKinds
from kong_plugins.guardrails.segments import user_segments

PNG = "data:image/png;base64,iVBORw0KGgo="
TOOL = {"type": "function", "name": "get_order", "description": "An order",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}


def _translated(omit_hosted=True, **fields):
    return chat_request(json.dumps({"model": "sonnet", **fields}).encode(), omit_hosted=omit_hosted)


def _chat(**fields):
    return _translated(**fields).chat


def test_a_whole_conversation_becomes_chat_messages():
    chat = _chat(instructions="Be terse.", max_output_tokens=300, temperature=0.5, stream=True, tools=[TOOL],
                 tool_choice={"type": "function", "name": "get_order"},
                 input=[{"role": "developer", "content": "Bullets."},
                        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Where?"},
                                                                         {"type": "input_image", "image_url": PNG}]},
                        {"type": "reasoning", "id": "rs_1", "summary": []},
                        {"type": "function_call", "call_id": "c1", "name": "get_order", "arguments": "{\"id\":\"4\"}"},
                        {"type": "function_call_output", "call_id": "c1", "output": "shipped"},
                        {"role": "assistant", "content": [{"type": "output_text", "text": "It shipped."}]},
                        {"role": "user", "content": "Thanks"}])
    assert [m["role"] for m in chat["messages"]] == ["system", "developer", "user", "assistant", "tool", "assistant",
                                                     "user"]
    assert chat["messages"][2]["content"][1] == {"type": "image_url", "image_url": {"url": PNG}}
    assert chat["messages"][3]["tool_calls"][0]["function"] == {"name": "get_order", "arguments": "{\"id\":\"4\"}"}
    assert chat["max_completion_tokens"] == 300 and chat["stream"] is True and chat["temperature"] == 0.5
    assert chat["tools"][0] == {"type": "function", "function": {"name": "get_order", "description": "An order",
                                                                 "parameters": TOOL["parameters"]}}
    internal = openai_chat.to_anthropic(chat, 1024)
    assert internal["system"] == "Be terse.\n\nBullets." and internal["tool_choice"] == {"type": "tool",
                                                                                        "name": "get_order"}
    assert [m["role"] for m in internal["messages"]] == ["user", "assistant", "user", "assistant", "user"]


def test_text_format_and_reasoning_map_to_their_chat_fields():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    chat = _chat(input="hi", text={"format": {"type": "json_schema", "name": "x", "schema": schema, "strict": True}},
                 reasoning={"effort": "medium", "summary": "auto"})
    assert chat["response_format"] == {"type": "json_schema", "json_schema": {"name": "x", "schema": schema,
                                                                              "strict": True}}
    assert chat["reasoning_effort"] == "medium"
    assert _chat(input="hi", text={"format": {"type": "json_object"}})["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("fields, param", [
    ({"input": "hi", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"input": "hi", "conversation": "conv_1"}, "conversation"),
    ({"input": "hi", "tools": [{"type": "local_shell"}]}, "tools.0.type"),
    ({"input": "hi", "tools": [{"type": "apply_patch"}]}, "tools.0.type"),
    ({"input": "hi", "tools": [{"type": "namespace", "tools": []}]}, "tools.0.name"),
    ({"input": "hi", "tools": [{"type": "namespace", "name": "crm", "tools": {}}]}, "tools.0.tools"),
    ({"input": "hi", "tools": [{"type": "namespace", "name": "crm", "tools": [{"type": "web_search"}]}]},
     "tools.0.tools.0.type"),
    ({"input": "hi", "tools": [{"type": "namespace", "name": "crm", "tools": [{"type": "function"}]}]},
     "tools.0.tools.0.name"),
    ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "namespace": 5}]}, "input.0.namespace"),
    ({"input": []}, "input"),
    ({"input": 3}, "input"),
    ({"input": [{"type": "item_reference", "id": "x"}]}, "input.0"),   # no store given: none kept
    ({"input": [{"role": "robot", "content": "x"}]}, "input.0.role"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, "input.0.content.0"),
    ({"input": [{"type": "function_call_output", "output": "x"}]}, "input.0.call_id"),
    ({"input": "hi", "tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
    ({"input": "hi", "text": "json"}, "text"),
    ({"input": "hi", "instructions": ["x"]}, "instructions"),
])
def test_what_the_gateway_cannot_do_is_a_request_error(fields, param):
    with pytest.raises(RequestError) as exc:
        _chat(**fields)
    assert exc.value.param == param


def test_guardrails_read_the_users_input():
    body = {"input": [{"role": "user", "content": [{"type": "input_text", "text": "my card"}]},
                      {"role": "system", "content": "vendor text"},
                      {"type": "function_call_output", "call_id": "c", "output": "tool text"}]}
    assert [s.text for s in user_segments(body)] == ["my card"]
    assert [s.text for s in user_segments(body, tool_results=True)] == ["my card", "tool text"]
    assert [(s.path, s.text) for s in user_segments({"input": "plain"})] == [(("input",), "plain")]


def test_a_message_renders_as_response_items():
    message = {"content": [{"type": "thinking", "thinking": "Plan.", "signature": "s"},
                           {"type": "text", "text": "Done."},
                           {"type": "tool_use", "id": "t1", "name": "get_order", "input": {"id": "4"}}],
               "stop_reason": "tool_use"}
    response = responses_render.response_from_message(message, Usage(input=5, output=7, cache_read=10, cache_write=4),
                                                      model="sonnet", response_id="resp_1")
    assert [item["type"] for item in response["output"]] == ["reasoning", "message", "function_call"]
    assert response["output"][0]["summary"] == [{"type": "summary_text", "text": "Plan."}]
    assert response["output"][1]["content"][0]["text"] == "Done."
    call = response["output"][2]
    assert (call["call_id"], call["name"], json.loads(call["arguments"])) == ("t1", "get_order", {"id": "4"})
    assert response["status"] == "completed" and response["usage"]["input_tokens"] == 19
    assert response["usage"]["total_tokens"] == 26   # a cache write was billed but missing from the details:
    assert response["usage"]["input_tokens_details"] == {"cached_tokens": 10, "cache_write_tokens": 4}


def test_max_tokens_is_an_incomplete_response_and_json_mode_is_text():
    message = {"content": [{"type": "tool_use", "id": "t", "name": ANSWER_TOOL, "input": {"a": 1}}],
               "stop_reason": "max_tokens"}
    response = responses_render.response_from_message(message, Usage(), model="m", response_id="r",
                                                      tools=ToolKinds(answer=ANSWER_TOOL))
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert json.loads(response["output"][0]["content"][0]["text"]) == {"a": 1}


def test_stream_events_are_numbered_and_close_every_item():
    renderer = responses_render.EventRenderer(model="m", response_id="resp_1")
    events = [{"type": "message_start", "message": {}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there"}},
              {"type": "content_block_stop", "index": 0},
              {"type": "content_block_start", "index": 1,
               "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}}},
              {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
              {"type": "content_block_stop", "index": 1},
              {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
              {"type": "message_stop"}]
    frames = [frame for e in events for frame in renderer.render(e, Usage(input=2, output=3, cache_write=5))]
    parsed = [(f.split(b"\n")[0][7:].decode(), json.loads(f.split(b"\n")[1][6:])) for f in frames]
    assert all(name == data["type"] for name, data in parsed)
    assert [data["sequence_number"] for _, data in parsed] == list(range(len(parsed)))   # from 0, as OpenAI's
    names = [name for name, _ in parsed]
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert names.count("response.output_item.added") == names.count("response.output_item.done") == 2
    final = parsed[-1][1]["response"]
    assert parsed[-1][0] == "response.completed" and final["output"][0]["content"][0]["text"] == "Hi there"
    assert final["output"][1]["arguments"] == "{}" and final["usage"]["output_tokens"] == 3
    assert final["usage"]["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 5}


# Thinking blocks round trip: Claude may think on in a tool loop only with its earlier blocks.

THOUGHT = {"type": "thinking", "thinking": "Look it up.", "signature": "c2ln"}


def test_chat_replies_carry_their_thinking_blocks_and_take_them_back():
    message = {"content": [THOUGHT, {"type": "tool_use", "id": "t1", "name": "get_order", "input": {}}],
               "stop_reason": "tool_use"}
    reply = openai_chat.completion_from_message(message, Usage(), model="m", completion_id="c")["choices"][0]
    assert reply["message"]["thinking_blocks"] == [THOUGHT]
    messages = [{"role": "user", "content": "Where is order 4?"}, reply["message"],
                {"role": "tool", "tool_call_id": "t1", "content": "shipped"}]
    internal = openai_chat.to_anthropic({"messages": messages, "reasoning_effort": "low", "max_tokens": 4000}, 4000)
    assert internal["messages"][1]["content"][0] == THOUGHT and internal["thinking"] == {"type": "adaptive"}
    without = [messages[0], {k: v for k, v in reply["message"].items() if k != "thinking_blocks"}, messages[2]]
    assert "thinking" not in openai_chat.to_anthropic({"messages": without, "reasoning_effort": "low"}, 4000)


def test_chat_stream_sends_each_thinking_block_whole_when_it_ends():
    renderer = openai_chat_stream.ChunkRenderer(model="m", completion_id="c", include_usage=False)
    events = [{"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "",
                                                                             "signature": ""}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Look "}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "it up."}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "c2ln"}},
              {"type": "content_block_stop", "index": 0}]
    deltas = [json.loads(line[6:])["choices"][0]["delta"] for e in events for line in renderer.render(e, Usage())]
    assert deltas[-1] == {"thinking_blocks": [THOUGHT]}


@pytest.mark.parametrize("blocks", ["x", [{"type": "thinking", "thinking": "t"}], [{"type": "text", "text": "t"}]])
def test_malformed_thinking_blocks_are_a_request_error(blocks):
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok", "thinking_blocks": blocks},
                {"role": "user", "content": "more"}]
    with pytest.raises(RequestError) as exc:
        openai_chat.to_anthropic({"messages": messages}, 100)
    assert exc.value.param == "messages.1.thinking_blocks"


def test_responses_reasoning_items_round_trip_through_encrypted_content():
    message = {"content": [THOUGHT, {"type": "tool_use", "id": "t1", "name": "get_order", "input": {}}],
               "stop_reason": "tool_use"}
    output = responses_render.response_from_message(message, Usage(), model="m", response_id="r")["output"]
    assert output[0]["summary"][0]["text"] == "Look it up." and output[0]["encrypted_content"]
    chat = _chat(reasoning={"effort": "low"}, max_output_tokens=4000, input=[
        {"role": "user", "content": "Where is order 4?"}, *output,
        {"type": "function_call_output", "call_id": "t1", "output": "shipped"}])
    assert chat["messages"][1]["thinking_blocks"] == [THOUGHT]
    internal = openai_chat.to_anthropic(chat, 4000)
    assert internal["messages"][1]["content"][0] == THOUGHT and "thinking" in internal
    # OpenAI's own encrypted reasoning (a conversation moved between providers) is passed over.
    foreign = _chat(input=[{"role": "user", "content": "hi"},
                           {"type": "reasoning", "id": "rs", "summary": [], "encrypted_content": "gAAAA-openai"},
                           {"role": "assistant", "content": "hello"}, {"role": "user", "content": "more"}])
    assert "thinking_blocks" not in foreign["messages"][1]


def test_a_response_repeats_the_requests_settings_and_keeps_its_own_fields():
    body = {"model": "sonnet", "input": "hi", "instructions": "Be terse.", "metadata": {"k": "v"}, "temperature": 0.3,
            "max_output_tokens": 40, "tool_choice": "auto", "text": {"format": {"type": "text"}, "verbosity": "low"},
            "top_p": None, "stream": True, "include": ["reasoning.encrypted_content"]}
    echo = chat_request(json.dumps(body).encode()).echo
    assert echo == {"instructions": "Be terse.", "metadata": {"k": "v"}, "temperature": 0.3, "max_output_tokens": 40,
                    "tool_choice": "auto", "text": {"format": {"type": "text"}, "verbosity": "low"}}
    response = responses_render.response_from_message({"content": [{"type": "text", "text": "ok"}]}, Usage(),
                                                      model="sonnet", response_id="resp_1", echo=echo)
    assert response["instructions"] == "Be terse." and response["metadata"] == {"k": "v"}
    assert response["id"] == "resp_1" and response["status"] == "completed" and response["tools"] == []
    assert not {"stream", "include", "top_p"} & response.keys()     # not settings a Response repeats; None: unset
