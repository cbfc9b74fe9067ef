"""OpenAI's function calling from before `tools` is a 400 naming its successor, never silently ignored."""

import json

import pytest

from kong_plugins.formats.body import RequestError
from kong_plugins.formats.openai_chat import parse_request, to_anthropic

USER = {"role": "user", "content": "What's the weather in Oslo?"}
FUNCTION = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def chat(**fields) -> dict:
    request = parse_request(json.dumps({"model": "haiku", "messages": [USER], **fields}).encode())
    return to_anthropic(request, 1024)


@pytest.mark.parametrize("fields,param", [
    ({"functions": [FUNCTION]}, "functions"),
    ({"function_call": "auto"}, "function_call"),
    ({"messages": [USER, {"role": "assistant", "function_call": {"name": "get_weather", "arguments": "{}"}},
                   {"role": "function", "name": "get_weather", "content": "12 C"}]}, "messages.1.function_call"),
    ({"messages": [USER, {"role": "function", "name": "get_weather", "content": "12 C"}]}, "messages.1.role"),
])
def test_the_deprecated_function_calling_fields_are_a_400_naming_tools(fields, param):
    with pytest.raises(RequestError) as refused:
        chat(**fields)
    assert refused.value.param == param and ("tools" in str(refused.value) or "tool" in str(refused.value))


def test_an_sdk_dump_of_an_assistant_message_with_function_call_null_is_fine():
    """openai's ChatCompletionMessage.model_dump() carries `function_call: None` beside `tool_calls`."""
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    shaped = chat(messages=[USER, {"role": "assistant", "content": None, "function_call": None, "tool_calls": [call]},
                            {"role": "tool", "tool_call_id": "call_1", "content": "12 C"}],
                  tools=[{"type": "function", "function": FUNCTION}], functions=None)
    assert shaped["messages"][1]["content"][0]["type"] == "tool_use"
