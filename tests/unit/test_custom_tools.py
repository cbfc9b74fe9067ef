"""OpenAI custom tools (free-form input) in both OpenAI APIs: requests, history, replies and streams."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from kong_plugins.context import Usage
from kong_plugins.formats import custom_tools, openai_chat, openai_chat_stream, responses_render
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.chat_request import parse_chat
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.tool_kinds import ToolKinds
from kong_plugins.guardrails.segments import user_segments
from tests.stream_events import tool_call_stream

GRAMMAR = 'start: "*** Begin Patch" LF body "*** End Patch"'
PATCH = '*** Begin Patch\n*** Update File: "shop/cart.py"\n-\ttotal = 0\n+\ttotal = Décimal("0") \\ ✓\n*** End Patch'
CHAT_TOOL = {"type": "custom", "custom": {"name": "apply_patch", "description": "Edit files.",
                                          "format": {"type": "grammar",
                                                     "grammar": {"syntax": "lark", "definition": GRAMMAR}}}}
RESPONSES_TOOL = {"type": "custom", "name": "apply_patch", "description": "Edit files.",
                  "format": {"type": "grammar", "syntax": "lark", "definition": GRAMMAR}}
CALL = {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {"input": PATCH}}
KINDS = ToolKinds(custom=frozenset({"apply_patch"}))


def _parsed(body: dict, *, responses_api: bool = False):
    return parse_chat(ApiFormat.OPENAI, json.dumps({"model": "sonnet", **body}).encode(), 1024,
                      responses_api=responses_api)


@pytest.mark.parametrize("body, responses_api", [
    ({"messages": [{"role": "user", "content": "fix it"}], "tools": [CHAT_TOOL],
      "tool_choice": {"type": "custom", "custom": {"name": "apply_patch"}}}, False),
    ({"input": "fix it", "tools": [RESPONSES_TOOL], "tool_choice": {"type": "custom", "name": "apply_patch"}}, True),
])
def test_a_custom_tool_is_a_bedrock_tool_with_one_string_carrying_the_grammar(body, responses_api):
    chat = _parsed(body, responses_api=responses_api)
    [tool] = chat.internal["tools"]
    assert tool["name"] == "apply_patch" and tool["description"] == "Edit files."
    schema = tool["input_schema"]
    assert schema["required"] == ["input"] and schema["properties"]["input"]["type"] == "string"
    assert "lark grammar" in schema["properties"]["input"]["description"]
    assert schema["properties"]["input"]["description"].endswith(GRAMMAR)
    assert chat.internal["tool_choice"] == {"type": "tool", "name": "apply_patch"}
    assert chat.tools == KINDS


def test_an_unconstrained_custom_tool_names_no_grammar_and_sits_beside_functions():
    function = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    chat = _parsed({"messages": [{"role": "user", "content": "x"}],
                    "tools": [{"type": "custom", "custom": {"name": "note", "format": {"type": "text"}}}, function]})
    custom, plain = chat.internal["tools"]
    assert "grammar" not in custom["input_schema"]["properties"]["input"]["description"]
    assert "description" not in custom and plain["name"] == "lookup"
    assert chat.tools.custom == {"note"}


@pytest.mark.parametrize("tool, param", [
    ({"type": "custom", "custom": {}}, "tools.0"),
    ({"type": "custom", "custom": {"name": "x", "format": {"type": "json"}}}, "tools.0"),
    ({"type": "custom", "custom": {"name": "x", "format": {"type": "grammar", "grammar": {"syntax": "ebnf",
                                                                                         "definition": "a"}}}},
     "tools.0"),
    ({"type": "custom", "custom": {"name": "x", "description": 3}}, "tools.0"),
])
def test_a_malformed_custom_tool_is_a_request_error(tool, param):
    with pytest.raises(RequestError) as exc:
        _parsed({"messages": [{"role": "user", "content": "x"}], "tools": [tool]})
    assert exc.value.param == param


def test_a_responses_grammar_must_name_its_syntax():
    with pytest.raises(RequestError) as exc:
        _parsed({"input": "x", "tools": [{**RESPONSES_TOOL, "format": {"type": "grammar", "definition": "a"}}]},
                responses_api=True)
    assert "lark or regex" in str(exc.value) and exc.value.param == "tools.0"


@pytest.mark.parametrize("body, responses_api", [
    ({"tools": [CHAT_TOOL], "messages": [
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "custom", "custom": {"name": "apply_patch", "input": PATCH}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Done!"}]}, False),
    ({"tools": [RESPONSES_TOOL], "input": [
        {"role": "user", "content": "fix it"},
        {"type": "custom_tool_call", "call_id": "call_1", "name": "apply_patch", "input": PATCH},
        {"type": "custom_tool_call_output", "call_id": "call_1", "output": "Done!"}]}, True),
])
def test_a_custom_call_sent_back_in_the_history_is_the_bedrock_tool_call_it_was(body, responses_api):
    messages = _parsed(body, responses_api=responses_api).internal["messages"]
    assert messages[1]["content"] == [{"type": "tool_use", "id": "call_1", "name": "apply_patch",
                                       "input": {"input": PATCH}}]
    assert messages[2]["content"] == [{"type": "tool_result", "tool_use_id": "call_1", "content": "Done!"}]


@pytest.mark.parametrize("body, responses_api, param", [
    ({"input": [{"role": "user", "content": "x"},
                {"type": "custom_tool_call", "call_id": "c", "name": "apply_patch", "input": {"a": 1}}]}, True,
     "input.1.input"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "custom", "custom": {"name": "apply_patch"}}]}]}, False,
     "messages.1.tool_calls.0.custom.input"),
])
def test_a_custom_call_without_a_string_input_is_a_request_error(body, responses_api, param):
    with pytest.raises(RequestError) as exc:
        _parsed(body, responses_api=responses_api)
    assert exc.value.param == param


def test_guardrails_read_custom_tool_outputs_as_tool_results():
    body = {"input": [{"role": "user", "content": "fix it"},
                      {"type": "custom_tool_call_output", "call_id": "c", "output": "tool text"}]}
    assert [s.text for s in user_segments(body)] == ["fix it"]
    assert [s.text for s in user_segments(body, tool_results=True)] == ["fix it", "tool text"]


def test_a_chat_completion_gives_a_custom_call_its_text():
    function = {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {"id": "4"}}
    message = {"content": [CALL, function], "stop_reason": "tool_use"}
    reply = openai_chat.completion_from_message(message, Usage(), model="m", completion_id="c", tools=KINDS)
    custom, plain = reply["choices"][0]["message"]["tool_calls"]
    assert custom == {"id": "toolu_1", "type": "custom", "custom": {"name": "apply_patch", "input": PATCH}}
    assert plain["type"] == "function" and json.loads(plain["function"]["arguments"]) == {"id": "4"}
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    untold = openai_chat.completion_from_message(message, Usage(), model="m", completion_id="c")
    assert untold["choices"][0]["message"]["tool_calls"][0]["type"] == "function"


def _stream_events(pieces: list[str]) -> list[dict]:
    return tool_call_stream("apply_patch", pieces)


def _pieces(size: int) -> list[str]:
    """The call's JSON as Bedrock streams it, cut every `size` characters (mid-escape too)."""
    encoded = json.dumps({"input": PATCH})
    return [encoded[i:i + size] for i in range(0, len(encoded), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_a_chat_stream_sends_the_custom_input_as_it_grows(size):
    renderer = openai_chat_stream.ChunkRenderer(model="m", completion_id="c", include_usage=False, tools=KINDS)
    frames = [f for e in _stream_events(_pieces(size)) for f in renderer.render(e, Usage())]
    calls = [json.loads(f[6:])["choices"][0]["delta"]["tool_calls"][0] for f in frames[:-1]
             if b"tool_calls\":[" in f]
    assert calls[0] == {"index": 0, "id": "toolu_1", "type": "custom", "custom": {"name": "apply_patch", "input": ""}}
    pieces = [call["custom"]["input"] for call in calls[1:]]
    assert "".join(pieces) == PATCH and all(pieces)
    assert len(pieces) > 1 or size == 1000


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_a_responses_stream_sends_custom_input_events(size):
    renderer = responses_render.EventRenderer(model="m", response_id="resp_1", tools=KINDS)
    frames = [f for e in _stream_events(_pieces(size)) for f in renderer.render(e, Usage(input=2, output=3))]
    parsed = [json.loads(f.split(b"\n")[1][6:]) for f in frames]
    added = next(p for p in parsed if p["type"] == "response.output_item.added")["item"]
    assert added["type"] == "custom_tool_call" and added["id"].startswith("ctc_") and added["input"] == ""
    assert (added["call_id"], added["name"], added["status"]) == ("toolu_1", "apply_patch", "in_progress")
    deltas = [p["delta"] for p in parsed if p["type"] == "response.custom_tool_call_input.delta"]
    assert "".join(deltas) == PATCH and (len(deltas) > 1 or size == 1000)
    [done] = [p for p in parsed if p["type"] == "response.custom_tool_call_input.done"]
    assert done["input"] == PATCH and done["item_id"] == added["id"]
    final = parsed[-1]["response"]["output"][0]
    assert final == {**added, "status": "completed", "input": PATCH}


def test_a_whole_response_gives_a_custom_call_its_text():
    response = responses_render.response_from_message({"content": [CALL], "stop_reason": "tool_use"}, Usage(),
                                                      model="m", response_id="r", tools=KINDS)
    [item] = response["output"]
    assert (item["type"], item["call_id"], item["name"], item["input"]) == (
        "custom_tool_call", "toolu_1", "apply_patch", PATCH)


def test_a_model_that_ignores_the_string_still_gives_the_client_its_input():
    stream = custom_tools.InputStream()
    pieces = [stream.feed(p) for p in ('{"patch": ', '"x"}')]
    assert pieces == ["", ""] and stream.finish() == '{"patch": "x"}' and stream.text == '{"patch": "x"}'
    assert custom_tools.call_input({"patch": "x"}) == '{"patch": "x"}'


@pytest.mark.parametrize("choice", [{"type": ["custom"]}, {"type": "custom", "custom": "apply_patch"},
                                    {"type": "function", "function": 5}, {"type": "custom"}])
def test_a_malformed_tool_choice_is_a_request_error_not_a_crash(choice):
    with pytest.raises(RequestError) as exc:
        _parsed({"messages": [{"role": "user", "content": "x"}], "tools": [CHAT_TOOL], "tool_choice": choice})
    assert exc.value.param == "tool_choice"


_TEXTS = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ['a \\u00e9 literal', '😀\n\t"\\', '\\\\ud83d not an escape', "\x00\x1f", "\ud7ff\ue000"])


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, ascii_only=st.booleans(), spaced=st.booleans(), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_a_streamed_input_cut_anywhere_comes_out_whole_and_as_it_grows(text, ascii_only, spaced, cuts):
    encoded = json.dumps({"input": text}, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":"))
    bounds = sorted({0, len(encoded), *(c for c in cuts if c < len(encoded))})
    stream = custom_tools.InputStream()
    fed = [stream.feed(encoded[a:b]) for a, b in zip(bounds, bounds[1:])]
    assert "".join(fed) == text == stream.text    # all of it streamed before the call ended
    assert stream.finish() == "" and stream.text == text


def test_other_members_before_the_input_are_read_too():
    stream = custom_tools.InputStream()
    fed = [stream.feed(p) for p in ('{"note": "n", ', '"input": "ab', 'c\\n', '"}')]
    assert fed == ["", "ab", "c\n", ""] and stream.finish() == "" and stream.text == "abc\n"


def test_a_surrogate_pair_cut_between_its_halves_waits_for_the_second():
    stream = custom_tools.InputStream()
    assert [stream.feed(p) for p in ('{"input": "x\\ud83d', '\\ude00y"}')] == ["x", "😀y"]
