"""OpenAI response_format: structured outputs for schemas, a forced answer tool for JSON mode."""

import json

import pytest

from kong_plugins.context import Usage
from kong_plugins.formats import anthropic, converse, openai_chat
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.response_format import ANSWER_TOOL, answer_tool

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}
USER_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def _internal(**fields):
    request = {"model": "sonnet", "messages": [{"role": "user", "content": "Where?"}], **fields}
    return openai_chat.to_anthropic(openai_chat.parse_request(json.dumps(request).encode()), 1024)


def test_json_schema_becomes_structured_output_on_converse():
    internal = _internal(response_format={"type": "json_schema",
                                          "json_schema": {"name": "place", "schema": SCHEMA, "strict": True}})
    assert internal["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in internal
    text_format = converse.request_from_anthropic(internal)["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema"
    assert json.loads(text_format["structure"]["jsonSchema"]["schema"]) == SCHEMA


@pytest.mark.parametrize("response_format", [{"type": "text"}, None])
def test_text_changes_nothing(response_format):
    internal = _internal(response_format=response_format) if response_format else _internal()
    assert "output_config" not in internal and "tools" not in internal
    assert "outputConfig" not in converse.request_from_anthropic(internal)


@pytest.mark.parametrize("response_format", [{"type": "json_object"},
                                             {"type": "json_schema", "json_schema": {"name": "any"}}])
def test_json_mode_forces_the_answer_tool(response_format):
    internal = _internal(response_format=response_format)
    assert [t["name"] for t in internal["tools"]] == [ANSWER_TOOL]
    assert internal["tool_choice"] == {"type": "tool", "name": ANSWER_TOOL}
    assert answer_tool({"response_format": response_format}) == ANSWER_TOOL
    assert converse.request_from_anthropic(internal)["toolConfig"]["toolChoice"] == {"tool": {"name": ANSWER_TOOL}}


@pytest.mark.parametrize("tool_choice, expected", [
    (None, {"type": "any"}),
    ("auto", {"type": "any"}),
    ("required", {"type": "any"}),
    ("none", {"type": "tool", "name": ANSWER_TOOL}),
    ({"type": "function", "function": {"name": "lookup"}}, {"type": "tool", "name": "lookup"}),
])
def test_json_mode_beside_the_clients_tools(tool_choice, expected):
    fields = {"tool_choice": tool_choice} if tool_choice else {}
    internal = _internal(response_format={"type": "json_object"}, tools=[USER_TOOL], **fields)
    assert [t["name"] for t in internal["tools"]] == ["lookup", ANSWER_TOOL]
    assert internal["tool_choice"] == expected


@pytest.mark.parametrize("fields, param", [
    ({"response_format": {"type": "yaml"}}, "response_format"),
    ({"response_format": "json"}, "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": "{}"}}},
     "response_format.json_schema"),
    ({"response_format": {"type": "json_object"},
      "tools": [{"type": "function", "function": {"name": ANSWER_TOOL}}]}, "tools"),
])
def test_bad_response_format_is_a_request_error(fields, param):
    with pytest.raises(RequestError) as exc:
        _internal(**fields)
    assert exc.value.param == param


def test_the_answer_tool_renders_as_the_message_text():
    message = {"content": [{"type": "tool_use", "id": "t", "name": ANSWER_TOOL, "input": {"city": "Zürich"}}],
               "stop_reason": "tool_use"}
    out = openai_chat.completion_from_message(message, Usage(input=3, output=4), model="sonnet",
                                              completion_id="c", answer_tool=ANSWER_TOOL)
    choice = out["choices"][0]
    assert json.loads(choice["message"]["content"]) == {"city": "Zürich"}
    assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]
    # Without JSON mode a client's own tool of that name is a tool call like any other.
    plain = openai_chat.completion_from_message(message, Usage(), model="sonnet", completion_id="c")
    assert plain["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == ANSWER_TOOL
    assert plain["choices"][0]["finish_reason"] == "tool_calls"


def test_a_client_tool_call_beside_json_mode_stays_a_tool_call():
    message = {"content": [{"type": "tool_use", "id": "t", "name": "lookup", "input": {}}], "stop_reason": "tool_use"}
    out = openai_chat.completion_from_message(message, Usage(), model="m", completion_id="c", answer_tool=ANSWER_TOOL)
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["choices"][0]["message"]["content"] is None


def test_the_answer_tool_streams_as_content():
    renderer = openai_chat.ChunkRenderer(model="sonnet", completion_id="c", include_usage=False,
                                         answer_tool=ANSWER_TOOL)
    events = [{"type": "message_start", "message": {}},
              {"type": "content_block_start", "index": 0,
               "content_block": {"type": "tool_use", "id": "t", "name": ANSWER_TOOL, "input": {}}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",
                                                                    "partial_json": "{\"city\":"}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta",
                                                                    "partial_json": "\"Oslo\"}"}},
              {"type": "content_block_stop", "index": 0},
              {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
              {"type": "message_stop"}]
    lines = [line for e in events for line in renderer.render(e, Usage())]
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert all("tool_calls" not in d for d in deltas)
    assert json.loads("".join(d.get("content", "") for d in deltas)) == {"city": "Oslo"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_invoke_body_keeps_a_requested_format_outside_the_field_list():
    fields = frozenset({"max_tokens", "messages"})
    request = {"model": "m", "max_tokens": 9, "messages": [],
               "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": SCHEMA}}}
    assert json.loads(anthropic.invoke_body(request, fields))["output_config"] == {
        "format": {"type": "json_schema", "schema": SCHEMA}}
    effort_only = {**request, "output_config": {"effort": "high"}}
    assert "output_config" not in json.loads(anthropic.invoke_body(effort_only, fields))
    assert json.loads(anthropic.invoke_body(request, fields | {"output_config"}))["output_config"]["effort"] == "high"
