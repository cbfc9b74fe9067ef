"""OpenAI response_format: structured outputs for schemas, a forced answer tool for JSON mode."""

import json

import pytest

from kong_plugins.context import Usage
from kong_plugins.formats import anthropic, converse, openai_chat, openai_chat_stream
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.response_format import ANSWER_TOOL, answer_tool
from kong_plugins.formats.tool_kinds import ToolKinds
from tests.stream_events import tool_call_stream

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
                                              completion_id="c", tools=ToolKinds(answer=ANSWER_TOOL))
    choice = out["choices"][0]
    assert json.loads(choice["message"]["content"]) == {"city": "Zürich"}
    assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]
    # Without JSON mode a client's own tool of that name is a tool call like any other.
    plain = openai_chat.completion_from_message(message, Usage(), model="sonnet", completion_id="c")
    assert plain["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == ANSWER_TOOL
    assert plain["choices"][0]["finish_reason"] == "tool_calls"


def test_a_client_tool_call_beside_json_mode_stays_a_tool_call():
    message = {"content": [{"type": "tool_use", "id": "t", "name": "lookup", "input": {}}], "stop_reason": "tool_use"}
    out = openai_chat.completion_from_message(message, Usage(), model="m", completion_id="c",
                                              tools=ToolKinds(answer=ANSWER_TOOL))
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["choices"][0]["message"]["content"] is None


def test_the_answer_tool_streams_as_content():
    renderer = openai_chat_stream.ChunkRenderer(model="sonnet", completion_id="c", include_usage=False,
                                         tools=ToolKinds(answer=ANSWER_TOOL))
    events = tool_call_stream(ANSWER_TOOL, ["{\"city\":", "\"Oslo\"}"], call_id="t")
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


# reasoning_effort (formats/reasoning.py) shares the internal model's output_config with response_format.

def test_reasoning_effort_is_thinking_on_a_budget_for_claude_on_converse():
    internal = _internal(reasoning_effort="high", temperature=0.2, top_p=0.5, max_completion_tokens=4000)
    assert internal["thinking"] == {"type": "adaptive"} and internal["output_config"] == {"effort": "high"}
    assert "temperature" not in internal and "top_p" not in internal
    body = converse.request_from_anthropic(internal)
    assert body["additionalModelRequestFields"]["thinking"] == {"type": "enabled", "budget_tokens": 3200}
    assert "temperature" not in body["inferenceConfig"]
    assert "additionalModelRequestFields" not in converse.request_from_anthropic(internal, model_fields=False)


def test_low_effort_gets_claudes_smallest_budget_and_too_few_tokens_is_a_clear_error():
    body = converse.request_from_anthropic(_internal(reasoning_effort="low", max_tokens=2000))
    assert body["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 1024
    with pytest.raises(RequestError) as exc:
        converse.request_from_anthropic(_internal(reasoning_effort="low", max_tokens=1024))
    assert exc.value.param == "max_tokens"


@pytest.mark.parametrize("effort", ["none", "minimal"])
def test_no_reasoning_keeps_the_sampling_fields(effort):
    internal = _internal(reasoning_effort=effort, temperature=0.2)
    assert "thinking" not in internal and internal["temperature"] == 0.2


def test_reasoning_with_a_schema_keeps_both():
    internal = _internal(reasoning_effort="medium", max_tokens=3000,
                         response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA}})
    assert internal["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}, "effort": "medium"}
    body = converse.request_from_anthropic(internal)
    assert "textFormat" in body["outputConfig"] and body["additionalModelRequestFields"]["thinking"]["budget_tokens"]


@pytest.mark.parametrize("fields", [
    {"reasoning_effort": "extreme"},
    {"reasoning_effort": "high", "tools": [USER_TOOL], "tool_choice": "required"},
    {"reasoning_effort": "high", "response_format": {"type": "json_object"}},
])
def test_reasoning_effort_refusals(fields):
    with pytest.raises(RequestError) as exc:
        _internal(**fields)
    assert exc.value.param == "reasoning_effort"


def test_answering_tool_results_does_not_think():
    messages = [{"role": "user", "content": "Where is order 42?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "shipped"}]
    internal = _internal(reasoning_effort="high", tools=[USER_TOOL], messages=messages, temperature=0.3)
    assert "thinking" not in internal and "temperature" not in internal


def test_thinking_renders_as_reasoning_content():
    message = {"content": [{"type": "thinking", "thinking": "Consider.", "signature": "s"},
                           {"type": "text", "text": "Done."}], "stop_reason": "end_turn"}
    reply = openai_chat.completion_from_message(message, Usage(), model="m", completion_id="c")["choices"][0]
    assert reply["message"]["reasoning_content"] == "Consider." and reply["message"]["content"] == "Done."
    renderer = openai_chat_stream.ChunkRenderer(model="m", completion_id="c", include_usage=False)
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hm"}}
    [line] = list(renderer.render(event, Usage()))
    assert json.loads(line[6:])["choices"][0]["delta"] == {"reasoning_content": "Hm"}


@pytest.mark.parametrize("value", ["json", 1, [], {}, {"type": None}, {"type": ["json_object"]},
                                   {"type": "json_schema", "json_schema": "x"},
                                   {"type": "json_schema", "json_schema": []},
                                   {"type": "json_schema", "json_schema": {"schema": []}},
                                   {"type": "json_schema", "json_schema": {"schema": "s"}}])
def test_malformed_response_format_is_always_a_request_error(value):
    with pytest.raises(RequestError):
        _internal(response_format=value)


@pytest.mark.parametrize("value", [1, True, [], {}, "HIGH", ["high"]])
def test_malformed_reasoning_effort_is_always_a_request_error(value):
    with pytest.raises(RequestError) as exc:
        _internal(reasoning_effort=value)
    assert exc.value.param == "reasoning_effort"


def test_the_betas_top_level_output_format_moves_to_output_config():
    body = {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "x"}],
            "output_format": {"type": "json_schema", "schema": SCHEMA}, "output_config": {"effort": "high"}}
    internal = anthropic.parse_request(json.dumps(body).encode())
    assert "output_format" not in internal
    assert internal["output_config"] == {"effort": "high", "format": {"type": "json_schema", "schema": SCHEMA}}
    sent = json.loads(anthropic.invoke_body(internal, frozenset({"max_tokens", "messages"})))
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
