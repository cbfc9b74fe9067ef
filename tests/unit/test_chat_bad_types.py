"""A Chat Completions body with a value of the wrong type or out of OpenAI's range is the client's 400 naming the
field, in OpenAI's format: never a crash (which the gateway answers 503), a value made up (a number sent as text,
a tool call named "None") or a setting silently dropped."""

import json

import pytest

from kong_plugins.context import RequestContext
from kong_plugins.formats import openai_chat
from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for

USER = {"role": "user", "content": "hi"}
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def chat(**fields):
    return {"model": "haiku", "messages": [USER], **fields}


def after_assistant(**assistant):
    return {"model": "haiku", "messages": [USER, {"role": "assistant", **assistant}, {"role": "user", "content": "go"}]}


def user_parts(*parts):
    return {"model": "haiku", "messages": [{"role": "user", "content": list(parts)}]}


def tool_result(content):
    return {"model": "haiku", "tools": TOOLS, "messages": [
        USER, {"role": "assistant", "tool_calls": [CALL]}, {"role": "tool", "tool_call_id": "c1", "content": content}]}


def refused(body, path="/v1/chat/completions"):
    reply = PLUGIN.decide(ctx_for("developer", body), path)
    assert reply is not None and reply.status == 400, reply
    error = reply.body["error"]
    assert error["type"] == "invalid_request_error"
    return error


CASES = [
    # 1. stream_options
    *[(chat(stream=True, stream_options=bad), "stream_options", "stream_options: must be an object.")
      for bad in ("x", 5, True, [])],
    (chat(stream=True, stream_options={"include_usage": "yes"}), "stream_options.include_usage",
     "stream_options.include_usage: must be a boolean."),
    # 2. image_url not an object
    *[(user_parts({"type": "image_url", "image_url": bad}), "messages.0.content.0.image_url",
       "messages.0.content.0.image_url: must be an object.") for bad in ("data:image/png;base64,AA", 5, ["x"])],
    # 3. function arguments not a JSON string
    *[(after_assistant(tool_calls=[{**CALL, "function": {"name": "f", "arguments": bad}}]),
       "messages.1.tool_calls.0.function.arguments", "messages.1.tool_calls.0.function.arguments: must be a JSON "
       "string.") for bad in ({"a": 1}, 5, [1], "{bad")],
    # 4. tool_calls not a list, a call not an object, without its id or name
    *[(after_assistant(tool_calls=bad), "messages.1.tool_calls", "messages.1.tool_calls: must be a list.")
      for bad in (5, True, "xy", {"id": "c1"})],
    (after_assistant(tool_calls=["x"]), "messages.1.tool_calls.0", "messages.1.tool_calls.0: must be an object."),
    (after_assistant(tool_calls=[{"type": "function", "function": {"name": "f"}}]), "messages.1.tool_calls.0.id",
     "messages.1.tool_calls.0.id: required."),
    (after_assistant(tool_calls=[{**CALL, "id": 7}]), "messages.1.tool_calls.0.id",
     "messages.1.tool_calls.0.id: required."),
    (after_assistant(tool_calls=[{**CALL, "function": {"arguments": "{}"}}]), "messages.1.tool_calls.0.function.name",
     "messages.1.tool_calls.0.function.name: required."),
    (after_assistant(tool_calls=[{"id": "c1", "type": "function"}]), "messages.1.tool_calls.0.function",
     "messages.1.tool_calls.0.function: must be an object."),
    (after_assistant(tool_calls=[{"id": "c1", "type": "custom", "custom": {"input": "x"}}]),
     "messages.1.tool_calls.0.custom.name", "messages.1.tool_calls.0.custom.name: required."),
    ({"model": "haiku", "tools": TOOLS, "messages": [USER, {"role": "assistant", "tool_calls": [CALL]},
                                                     {"role": "tool", "content": "done"}]},
     "messages.2.tool_call_id", "messages.2.tool_call_id: required."),
    # 5. thinking_blocks[i].type an object or a list
    *[(after_assistant(content="x", thinking_blocks=[{"type": bad, "thinking": "t", "signature": "s"}]),
       "messages.1.thinking_blocks", "messages.1.thinking_blocks: must be the thinking blocks the gateway returned.")
      for bad in ({}, [])],
    # 6. a tool result's text parts
    *[(tool_result([{"type": "text", "text": bad}]), "messages.2.content.0.text",
       "messages.2.content.0.text: must be a string.") for bad in (None, 5, {"a": 1})],
    ({"model": "haiku", "messages": [{"role": "system", "content": [{"type": "text", "text": 5}]}, USER]},
     "messages.0.content.0.text", "messages.0.content.0.text: must be a string."),
    # 7. a user's text part that is no string
    *[(user_parts({"type": "text", "text": bad}), "messages.0.content.0.text",
       "messages.0.content.0.text: must be a string.") for bad in (4111111111111111, {"a": 1}, None)],
    # 10. top-level settings OpenAI refuses
    *[(chat(stream=bad), "stream", "stream: must be a boolean.") for bad in ("yes", 1)],
    *[(chat(temperature=bad), "temperature", "temperature: must be a number from 0 to 2.") for bad in (2.5, -1)],
    (chat(temperature="hot"), "temperature", "temperature: must be a number."),
    (chat(top_p=1.5), "top_p", "top_p: must be a number from 0 to 1."),
    (chat(presence_penalty=3), "presence_penalty", "presence_penalty: must be a number from -2 to 2."),
    *[(chat(tool_choice=bad, tools=TOOLS), "tool_choice",
       "tool_choice: must be none, auto, required, a function or a custom tool.") for bad in ("sometimes", 5, {})],
    *[(chat(tool_choice=bad), "tool_choice", "tool_choice: must be none, auto, required, a function or a custom "
       "tool.") for bad in ("sometimes", 5, {})],          # checked without tools too, not ignored
    (chat(tools=TOOLS, tool_choice={"type": "function", "function": {"name": "g"}}), "tool_choice",
     "tool_choice.function.name: names no tool in tools."),
    (chat(tool_choice={"type": "function", "function": {"name": "f"}}), "tool_choice",
     "tool_choice.function.name: names no tool in tools."),
    (chat(tool_choice="required"), "tool_choice",       # OpenAI's 400 too: no tool to call, text is no answer
     "tool_choice: required needs tools to call; send tools, or leave tool_choice out."),
    (chat(parallel_tool_calls="x", tools=TOOLS), "parallel_tool_calls", "parallel_tool_calls: must be a boolean."),
    *[(chat(seed=bad), "seed", "seed: must be an integer.") for bad in ("x", 1.5, True, 2 ** 64)],
    (chat(logprobs="x"), "logprobs", "logprobs: must be a boolean."),
    (chat(top_logprobs=21), "top_logprobs", "top_logprobs: must be an integer from 0 to 20."),
    (chat(stop=["END", 5]), "stop", "stop: must be a string or a list of strings."),
]


@pytest.mark.parametrize("body, param, message", CASES)
def test_a_bad_value_is_a_400_naming_the_field(body, param, message):
    error = refused(body)
    assert (error["param"], error["message"]) == (param, message)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_temperature_of_nan_or_infinity_is_refused(value):
    raw = json.dumps(chat(temperature=value)).encode()   # NaN, Infinity: the JSON fallback reads them
    reply = PLUGIN.decide(RequestContext(request_id="r", consumer=ctx_for("developer", {}).consumer, body=raw),
                          "/v1/chat/completions")
    assert reply.status == 400 and reply.body["error"]["param"] == "temperature"


def test_the_seed_route_checks_the_same():
    error = refused(chat(stream="yes"), "/v1/chat/haiku")
    assert error["param"] == "stream"


def test_messages_never_repeat_the_value():
    error = refused(user_parts({"type": "text", "text": 4111111111111111}))
    assert "4111" not in error["message"]


@pytest.mark.parametrize("body", [
    chat(stream=True, stream_options={"include_usage": True}, temperature=2, top_p=0, seed=-3,
         parallel_tool_calls=False, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "f"}},
         logprobs=False, top_logprobs=0),
    chat(stream=None, stream_options=None, temperature=None, tool_choice="none", parallel_tool_calls=None, seed=None),
    chat(tool_choice="auto"),                                      # no tools: nothing to choose, as before
    after_assistant(tool_calls=[{**CALL, "function": {"name": "f"}}]),                       # no arguments: {}
    after_assistant(tool_calls=[{**CALL, "function": {"name": "f", "arguments": ""}}]),
    after_assistant(content=None, tool_calls=None),
    tool_result([{"type": "text", "text": "ok"}, {"type": "text", "text": "!"}]),
])
def test_good_values_still_pass(body):
    assert PLUGIN.decide(ctx_for("developer", body), "/v1/chat/completions") is None


def test_the_temperature_is_still_claudes_and_a_call_what_the_client_sent():
    internal = openai_chat.to_anthropic({"temperature": 1.7, "stop": ["A", "B"], "tools": TOOLS, "messages": [
        USER, {"role": "assistant", "tool_calls": [{**CALL, "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "ok"}]}]}, 100)
    assert internal["temperature"] == 1.0 and internal["stop_sequences"] == ["A", "B"]
    assert internal["messages"][1]["content"] == [{"type": "tool_use", "id": "c1", "name": "f", "input": {"x": 1}}]
    assert internal["messages"][2]["content"][0]["content"] == "ok"


def test_include_usage_is_read_from_stream_options():
    assert PLUGIN.decide(ctx := ctx_for("developer", chat(stream=True, stream_options={"include_usage": True})),
                         "/v1/chat/completions") is None
    assert ctx.upstream.include_usage is True
