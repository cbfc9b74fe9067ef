"""A Responses API body with a value of the wrong type is the client's 400 naming the Responses field it sent
(`input.1.arguments`), never the Chat Completions field the gateway rewrote it as, nor a crash."""

import pytest

from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for

USER = {"role": "user", "content": "hi"}
TOOL = {"type": "function", "name": "f", "parameters": {"type": "object"}}
CHAT_NAMES = ("messages.", ".tool_calls", "function.", "max_completion_tokens")


def call(**fields):
    return {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}", **fields}


def responses(**fields):
    return {"model": "haiku", "input": "hi", **fields}


def refused(body, path="/v1/responses"):
    ctx = ctx_for("developer", body)
    ctx.method = "POST"
    reply = PLUGIN.decide(ctx, path)
    assert reply is not None and reply.status == 400, reply
    error = reply.body["error"]
    assert error["type"] == "invalid_request_error"
    assert not any(name in error["message"] or name in (error["param"] or "") for name in CHAT_NAMES), error
    return error


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/input_tokens"])
@pytest.mark.parametrize("arguments", ["{bad", {"a": 1}, 5, [1], True])
def test_function_call_arguments_that_are_no_json_string_name_the_item(path, arguments):
    error = refused(responses(input=[USER, call(arguments=arguments)]), path)
    assert (error["param"], error["message"]) == ("input.1.arguments", "input.1.arguments: must be a JSON string.")


def test_the_item_keeps_its_place_after_instructions_and_reasoning():
    body = responses(instructions="Be brief.", input=[USER, {"type": "reasoning", "summary": []}, call(arguments="[")])
    assert refused(body)["param"] == "input.2.arguments"


@pytest.mark.parametrize("fields, param, message", [
    ({"stream": "yes"}, "stream", "stream: must be a boolean."),
    ({"temperature": 5}, "temperature", "temperature: must be a number from 0 to 2."),
    ({"top_p": -0.5}, "top_p", "top_p: must be a number from 0 to 1."),
    ({"parallel_tool_calls": "x", "tools": [TOOL]}, "parallel_tool_calls", "parallel_tool_calls: must be a boolean."),
    ({"store": "x"}, "store", "store: must be a boolean."),
    ({"tool_choice": "sometimes", "tools": [TOOL]}, "tool_choice",
     'tool_choice: must be none, auto, required or {"type": "function" or "custom", "name": ...}.'),
    ({"tool_choice": {"type": "function", "name": "g"}, "tools": [TOOL]}, "tool_choice",
     "tool_choice.name: names no tool in tools."),
    ({"tool_choice": {"type": "function", "name": "f"}}, "tool_choice", "tool_choice.name: names no tool in tools."),
])
def test_settings_openai_refuses_are_refused_by_their_responses_names(fields, param, message):
    error = refused(responses(**fields))
    assert (error["param"], error["message"]) == (param, message)


SECRET = "card 4111111111111111"
"""A value a setting's 400 must not repeat."""


@pytest.mark.parametrize("fields, param", [
    ({"truncation": SECRET}, "truncation"),
    ({"include": [4111111111111111]}, "include.0"),
    ({"include": ["reasoning.encrypted_content", {"card": SECRET}]}, "include.1"),
    ({"include": SECRET}, "include"),
    ({"text": {"format": {"type": "json_schema", "name": SECRET}}}, "text.format.schema"),
    ({"text": {"format": {"type": "json_schema", "name": "x", "schema": SECRET}}}, "text.format.schema"),
    ({"tool_choice": "required"}, "tool_choice"),
])
def test_settings_openai_refuses_that_were_taken_are_a_400_that_does_not_repeat_them(fields, param):
    """Each was taken, and the Response repeated it as if it applied (found by exploratory testing)."""
    error = refused(responses(**fields))
    assert error["param"] == param and error["message"].startswith(param + ": ") and "4111" not in error["message"]


@pytest.mark.parametrize("fields", [{"truncation": "disabled"}, {"truncation": "auto"},
                                    {"include": ["reasoning.encrypted_content", "message.output_text.logprobs"]},
                                    {"include": ["a.value.openai.added.after.this.gateway"]},
                                    {"tool_choice": "required", "tools": [{"type": "web_search"}]},
                                    {"tool_choice": "auto"}, {"include": None}])
def test_the_settings_openai_takes_still_pass(fields):
    """`required` beside hosted tools only: they are left out (X-Bedrock-Omitted-Tools), and the call goes on."""
    assert PLUGIN.decide(ctx_for("developer", responses(**fields)), "/v1/responses") is None


def test_an_unknown_item_type_is_not_repeated_in_the_message():
    error = refused(responses(input=[{"type": "card 4111111111111111"}]))
    assert error["param"] == "input.0.type" and "4111" not in error["message"]


def test_good_items_still_pass():
    body = responses(tools=[TOOL], tool_choice={"type": "function", "name": "f"}, store=False, stream=False,
                     temperature=2, input=[USER, call(arguments=None), {"type": "function_call_output", "call_id": "c1",
                                                                         "output": "ok"}])
    assert PLUGIN.decide(ctx_for("developer", body), "/v1/responses") is None
