"""Bodies with a value of the wrong type, through the whole stack with the official SDKs: the client's own 400
naming the field, at once, and nothing reaches Bedrock (no 503 from a plugin that crashed, no 502 after retries)."""

import openai
import pytest
import requests

from tests.e2e.clients import oa

USER = {"role": "user", "content": "hi"}
LONE_SURROGATE = b'{"model":"haiku","max_tokens":20,"messages":[{"role":"user","content":"a\\ud800b"}]}'


def _sent_to_bedrock(stack):
    return stack.emulator_control("GET", "/_emulator/requests").json()


@pytest.mark.parametrize("fields, param", [
    ({"stream_options": "x"}, "stream_options"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 42}]}]}, "messages.0.content.0.text"),
    ({"messages": [USER, {"role": "assistant", "tool_calls": "xy"}, USER]}, "messages.1.tool_calls"),
    ({"temperature": 7}, "temperature"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),      # no tools to call: OpenAI's 400; it was answered with text
])
def test_openai_sdk_gets_a_400_naming_the_field(stack, fields, param):
    stack.emulator_control("DELETE", "/_emulator/requests")
    with pytest.raises(openai.BadRequestError) as err:
        oa(stack).chat.completions.create(**{"model": "haiku", "max_tokens": 20, "messages": [USER], **fields})
    assert err.value.status_code == 400
    assert err.value.body["type"] == "invalid_request_error" and err.value.body["param"] == param
    assert err.value.body["message"].startswith(param + ": ")
    assert _sent_to_bedrock(stack) == []


def test_responses_error_names_the_responses_field(stack):
    stack.emulator_control("DELETE", "/_emulator/requests")
    with pytest.raises(openai.BadRequestError) as err:
        oa(stack).responses.create(model="haiku", input=[
            USER, {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{bad"}])
    assert err.value.body["param"] == "input.1.arguments"
    assert err.value.body["message"] == "input.1.arguments: must be a JSON string."
    assert _sent_to_bedrock(stack) == []



@pytest.mark.parametrize("path, message_of", [
    ("/v1/chat/completions", lambda body: body["error"]["type"] == "invalid_request_error"
     and body["error"]["message"]),
    ("/v1/messages", lambda body: body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
     and body["error"]["message"]),
])
def test_a_lone_surrogate_is_a_400_in_the_clients_format_without_retries(stack, path, message_of):
    """The JSON escape \\ud800 alone, as JavaScript's JSON.stringify writes half an emoji cut in two (the Python
    SDKs cannot send one: they encode the body as UTF-8 first)."""
    stack.emulator_control("DELETE", "/_emulator/requests")
    reply = requests.post(stack.proxy_url + path, headers={"X-API-Key": "dev-developer-key",
                                                           "content-type": "application/json"},
                          data=LONE_SURROGATE, timeout=10)
    assert reply.status_code == 400 and "lone surrogate" in message_of(reply.json())
    assert _sent_to_bedrock(stack) == []


def test_a_lone_surrogate_on_a_bedrock_native_route_is_a_validation_exception(stack):
    stack.emulator_control("DELETE", "/_emulator/requests")
    native = requests.post(stack.proxy_url + "/model/haiku/converse", headers={"X-API-Key": "dev-developer-key"},
                           data=b'{"messages":[{"role":"user","content":[{"text":"a\\ud800b"}]}]}', timeout=10)
    assert native.status_code == 400 and native.headers["x-amzn-ErrorType"].startswith("ValidationException")
    assert "lone surrogate" in native.json()["message"]
    assert _sent_to_bedrock(stack) == []
