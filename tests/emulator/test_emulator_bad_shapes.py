"""Request members of the wrong JSON type: a 400 ValidationException, as Bedrock answers, never a 500.

Most of these crashed the emulator while it read the request or generated the reply (a 500
InternalServerException, a traceback on its stderr); the others were answered as if valid. They go through
boto3's bedrock-runtime client, so the test sees what a real SDK sees: ``ClientError`` with code
ValidationException, HTTP 400 and ``x-amzn-ErrorType: ValidationException:...``. boto3 cannot serialise a
Converse member of the wrong type (it validates, then walks the shapes), so those calls send a valid body
that a ``before-call`` hook swaps for the bad one before the request is signed.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Iterator

import pytest
import requests
from botocore.exceptions import ClientError
from emulator_helpers import (MANTLE_MESSAGES, NOVA, SONNET_45, TITAN, claude_body, malformed, mantle_body,
                              mantle_post)

from kong_plugins.emulator.jsonbody import MAX_DEPTH

BAD_TYPE = {"type": {"x": 1}}   # a JSON-schema type that is an object
TOOL = {"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}


def _user(*blocks: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def _tool_turns(result: Any) -> list[dict[str, Any]]:
    """A tool call and its result (``result``: the toolResult member)."""
    return [{"role": "user", "content": [{"text": "use tool"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}}]},
            {"role": "user", "content": [{"toolResult": result}]}]


def _converse(**extra: Any) -> dict[str, Any]:
    return {"messages": _user({"text": "hello"}), **extra}


def _text_format(schema: Any) -> dict[str, Any]:
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(schema),
                                                                               "name": "answer"}}}}


def _schema_with_bad_type() -> dict[str, Any]:
    return {"type": "object", "required": ["a"], "properties": {"a": BAD_TYPE}}


def _assert_validation(error: ClientError) -> str:
    response = error.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    assert response["Error"]["Code"] == "ValidationException", response
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"].startswith("ValidationException:")
    assert response["Error"]["Message"]
    return response["Error"]["Message"]


@pytest.fixture
def swapped_body(client: Any) -> Iterator[Any]:
    """``swap(body, operation)``: the next call of ``operation`` sends ``body`` (JSON) in place of its own."""
    registered: list[str] = []

    def swap(body: Any, operation: str) -> None:
        def replace(params: dict[str, Any], **_: Any) -> None:
            params["body"] = json.dumps(body).encode()

        event = f"before-call.bedrock-runtime.{operation}"
        client.meta.events.register(event, replace, unique_id="bad-shape")
        registered.append(event)

    yield swap
    for event in registered:
        client.meta.events.unregister(event, unique_id="bad-shape")


def converse_error(client: Any, swap: Any, body: Any, model: str = SONNET_45, stream: bool = False) -> str:
    swap(body, "ConverseStream" if stream else "Converse")
    call = client.converse_stream if stream else client.converse
    with pytest.raises(ClientError) as exc:
        call(modelId=model, messages=_user({"text": "placeholder"}))
    return _assert_validation(exc.value)


def invoke_error(client: Any, body: Any, model: str = SONNET_45, stream: bool = False) -> str:
    call = client.invoke_model_with_response_stream if stream else client.invoke_model
    with pytest.raises(ClientError) as exc:
        call(modelId=model, body=json.dumps(body))
    return _assert_validation(exc.value)


# -- 1. a document block whose source is not an object --------------------------------------------------

@pytest.mark.parametrize("source", ["x", [1], 7])
@pytest.mark.parametrize("stream", [False, True])
def test_invoke_document_source_not_an_object(client, source: Any, stream: bool) -> None:
    body = claude_body(messages=_user({"type": "text", "text": "read this"}, {"type": "document", "source": source}))
    message = invoke_error(client, body, stream=stream)
    assert message == "messages.0.content.1.document.source: Input should be a valid dictionary or object"


def test_invoke_image_source_not_an_object(client) -> None:
    message = invoke_error(client, claude_body(messages=_user({"type": "image", "source": "x"})))
    assert message == "messages.0.content.0.image.source: Input should be a valid dictionary or object"


def test_invoke_document_inside_a_tool_result(client) -> None:
    body = claude_body(tools=[{"name": "lookup", "input_schema": {"type": "object"}}], messages=[
        {"role": "user", "content": "use tool"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": [{"type": "document", "source": "x"}]}]}])
    assert invoke_error(client, body) == ("messages.2.content.0.tool_result.content.0.document.source: "
                                          "Input should be a valid dictionary or object")


def test_count_tokens_invoke_body_document_source(client, swapped_body) -> None:
    inner = claude_body(messages=_user({"type": "document", "source": "x"}))
    swapped_body({"input": {"invokeModel": {"body": base64.b64encode(json.dumps(inner).encode()).decode()}}},
                 "CountTokens")
    with pytest.raises(ClientError) as exc:
        client.count_tokens(modelId=SONNET_45, input={"converse": {"messages": _user({"text": "x"})}})
    assert "document.source" in _assert_validation(exc.value)


@pytest.mark.parametrize("stream", [False, True])
def test_converse_document_source_not_an_object(client, swapped_body, stream: bool) -> None:
    body = _converse(messages=_user({"text": "read"}, {"document": {"format": "pdf", "name": "a", "source": "x"}}))
    message = converse_error(client, swapped_body, body, stream=stream)
    assert message.startswith("The value at messages.0.content.1.document.source is invalid")


def test_converse_document_inside_a_tool_result(client, swapped_body) -> None:
    body = _converse(toolConfig={"tools": [TOOL]}, messages=_tool_turns(
        {"toolUseId": "t1", "content": [{"document": {"format": "pdf", "name": "a", "source": "x"}}]}))
    message = converse_error(client, swapped_body, body)
    assert message.startswith("The value at messages.2.content.0.toolResult.content.0.document.source is invalid")


def test_mantle_document_source_not_an_object(emulator) -> None:
    response = mantle_post(emulator.url, MANTLE_MESSAGES,
                           mantle_body(messages=_user({"type": "document", "source": "x"})))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "messages.0.content.0.document.source: Input should be a valid dictionary or object"}


# -- 2. guardrailConfig that is not an object -----------------------------------------------------------

@pytest.mark.parametrize("config", ["x", ["gwdemoguard1"], {"guardrailIdentifier": "gwdemoguard1",
                                                             "guardrailVersion": 1}])
@pytest.mark.parametrize("stream", [False, True])
def test_converse_guardrail_config_not_an_object(client, swapped_body, config: Any, stream: bool) -> None:
    message = converse_error(client, swapped_body, _converse(guardrailConfig=config), stream=stream)
    assert message == "guardrailConfig must be an object of string members."


# -- 3. a toolSpec.inputSchema that is not an object ----------------------------------------------------

@pytest.mark.parametrize("input_schema", ["x", 1, [], {"json": {"type": "object"}, "other": 1}])
def test_converse_input_schema_not_an_object(client, swapped_body, input_schema: Any) -> None:
    tools = [{"toolSpec": {"name": "lookup", "inputSchema": input_schema}}]
    message = converse_error(client, swapped_body, _converse(toolConfig={"tools": tools}))
    assert message == ("The value at toolConfig.tools.0.toolSpec.inputSchema is invalid: exactly one of json must "
                       "be set.")


@pytest.mark.parametrize("schema", ["x", [1], _schema_with_bad_type()])
def test_converse_input_schema_json_not_a_schema(client, swapped_body, schema: Any) -> None:
    tools = [{"toolSpec": {"name": "lookup", "inputSchema": {"json": schema}}}]
    message = converse_error(client, swapped_body, _converse(messages=_user({"text": "use tool"}),
                                                             toolConfig={"tools": tools}))
    assert message.startswith("The JSON schema at toolConfig.tools.0.toolSpec.inputSchema.json is invalid.")


def test_converse_input_schema_missing(client, swapped_body) -> None:
    message = converse_error(client, swapped_body, _converse(toolConfig={"tools": [{"toolSpec": {"name": "x"}}]}))
    assert message == ("1 validation error detected: Value null at 'toolConfig.tools.1.member.toolSpec.inputSchema' "
                       "failed to satisfy constraint: Member must not be null")


@pytest.mark.parametrize("choice", ["x", {}, {"tool": "lookup"}, {"tool": {"name": ["lookup"]}},
                                    {"auto": {}, "any": {}}])
def test_converse_tool_choice_of_the_wrong_shape(client, swapped_body, choice: Any) -> None:
    body = _converse(messages=_user({"text": "use tool"}), toolConfig={"tools": [TOOL], "toolChoice": choice})
    assert "toolConfig.toolChoice" in converse_error(client, swapped_body, body)


# -- 4. toolResult.content that is not a list -----------------------------------------------------------

@pytest.mark.parametrize("content", ["x", {"text": "x"}, 3, None])
@pytest.mark.parametrize("stream", [False, True])
def test_converse_tool_result_content_not_a_list(client, swapped_body, content: Any, stream: bool) -> None:
    body = _converse(toolConfig={"tools": [TOOL]}, messages=_tool_turns({"toolUseId": "t1", "content": content}))
    message = converse_error(client, swapped_body, body, stream=stream)
    assert message == ("The value at messages.2.content.0.toolResult.content is invalid: it must be a list of "
                       "ToolResultContentBlock objects.")


@pytest.mark.parametrize("result", ["x", {"toolUseId": "t1", "content": ["x"]}, {"toolUseId": 1, "content": []}])
def test_converse_tool_result_of_the_wrong_shape(client, swapped_body, result: Any) -> None:
    body = _converse(toolConfig={"tools": [TOOL]}, messages=_tool_turns(result))
    assert "messages.2.content.0" in converse_error(client, swapped_body, body)


def test_invoke_tool_result_content_not_a_string_or_list(client) -> None:
    body = claude_body(tools=[{"name": "lookup", "input_schema": {"type": "object"}}], messages=[
        {"role": "user", "content": "use tool"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": {"text": "x"}}]}])
    assert invoke_error(client, body) == ("messages.2.content.0.tool_result.content: Input should be a valid string "
                                          "or list")


# -- 5. a JSON schema the reply cannot be built from ----------------------------------------------------

BAD_SCHEMAS = [
    BAD_TYPE,
    _schema_with_bad_type(),
    {"type": ["string", {"x": 1}]},
    {"type": [["string"]]},
    {"type": "object", "required": ["a"], "properties": {"a": {"anyOf": [BAD_TYPE]}}},
    {"type": "object", "required": "a"},
    {"type": "object", "properties": ["a"]},
    {"$ref": {"x": 1}},
    {"type": "object", "properties": {"a": "string"}},
    {"anyOf": []},
    {"type": "strnig"},
]


@pytest.mark.parametrize("schema", BAD_SCHEMAS)
def test_converse_output_config_schema_unusable(client, swapped_body, schema: Any) -> None:
    message = converse_error(client, swapped_body, _converse(outputConfig=_text_format(schema)))
    assert message == ("The JSON schema in outputConfig.textFormat is invalid. It must match JSON Schema draft 2020-12 "
                       "(https://json-schema.org/draft/2020-12).")


@pytest.mark.parametrize("schema", BAD_SCHEMAS)
def test_invoke_output_config_schema_unusable(client, schema: Any) -> None:
    body = claude_body(output_config={"format": {"type": "json_schema", "schema": schema}})
    assert invoke_error(client, body) == ("output_config.format.schema: JSON schema is invalid. It must match JSON "
                                          "Schema draft 2020-12 (https://json-schema.org/draft/2020-12).")


@pytest.mark.parametrize("schema", BAD_SCHEMAS)
@pytest.mark.parametrize("stream", [False, True])
def test_invoke_tool_input_schema_unusable(client, schema: Any, stream: bool) -> None:
    body = claude_body("use tool", tools=[{"name": "lookup", "input_schema": schema}],
                       tool_choice={"type": "tool", "name": "lookup"})
    assert invoke_error(client, body, stream=stream).startswith(
        "tools.0.custom.input_schema: JSON schema is invalid. It must match JSON Schema draft 2020-12")


def test_converse_stream_tool_schema_unusable(client, swapped_body) -> None:
    tools = [{"toolSpec": {"name": "lookup", "inputSchema": {"json": _schema_with_bad_type()}}}]
    body = _converse(messages=_user({"text": "use tool"}), toolConfig={"tools": tools, "toolChoice": {"any": {}}})
    assert "inputSchema.json is invalid" in converse_error(client, swapped_body, body, stream=True)


def test_usable_schemas_still_answer(client, invoke) -> None:
    """Booleans as subschemas, type lists, $defs and $ref: all draft 2020-12, all answered."""
    schema = {"type": "object", "required": ["a", "b", "c", "d"], "$defs": {"D": {"type": "integer"}},
              "properties": {"a": {"type": ["string", "null"]}, "b": True, "c": {"$ref": "#/$defs/D"},
                             "d": {"type": "array", "items": {"type": "string"}, "prefixItems": [True]}},
              "additionalProperties": False}
    message = invoke(claude_body(output_config={"format": {"type": "json_schema", "schema": schema}}))["json"]
    assert json.loads(message["content"][0]["text"]) == {"a": "example", "b": "example", "c": 1, "d": []}
    response = client.converse(modelId=SONNET_45, messages=_user({"text": "x"}), outputConfig=_text_format(schema))
    assert json.loads(response["output"]["message"]["content"][0]["text"])["c"] == 1


# -- the same class nearby: members the emulator read without checking their type -----------------------

@pytest.mark.parametrize("body", [
    _converse(messages=_user({"guardContent": {"text": "x"}})),
    _converse(messages=_user({"guardContent": "x"})),
    _converse(system=[{"guardContent": "x"}]),
    _converse(system=[{"guardContent": {"text": "x"}}]),
    _converse(system=[{"text": {"x": 1}}]),
    _converse(messages=[{"role": "user", "content": [{"text": "a"}]},
                        {"role": "assistant", "content": [{"reasoningContent": {"reasoningText": "x"}}]},
                        {"role": "user", "content": [{"text": "b"}]}]),
    _converse(messages=_user({"text": {"x": 1}})),
    _converse(messages=_user({"image": "x"})),
    _converse(messages=_user({"image": {"format": "png", "source": "x"}})),
    _converse(messages=_user({"text": "a"}, {"cachePoint": "x"})),
    _converse(toolConfig={"tools": [TOOL, {"cachePoint": "x"}]}),
    _converse(inferenceConfig="x"),
    _converse(outputConfig="x"),
    _converse(outputConfig={"textFormat": "x"}),
    _converse(outputConfig={"textFormat": {"type": "json_schema", "structure": "x"}}),
    _converse(outputConfig={"textFormat": {"type": "json_schema", "structure": {"jsonSchema": "x"}}}),
    _converse(additionalModelRequestFields={"anthropic_beta": [{"x": 1}]}),
    _converse(toolConfig={"tools": [TOOL]}, messages=[
        {"role": "user", "content": [{"text": "a"}]}, {"role": "assistant", "content": [{"toolUse": "x"}]}]),
], ids=["guardContent.text", "guardContent", "system.guardContent", "system.guardContent.text", "system.text",
        "reasoningText", "text", "image", "image.source", "cachePoint", "tools.cachePoint", "inferenceConfig",
        "outputConfig", "textFormat", "structure", "jsonSchema", "anthropic_beta", "toolUse"])
def test_converse_members_of_the_wrong_type(client, swapped_body, body: dict[str, Any]) -> None:
    converse_error(client, swapped_body, body)


def test_nova_invoke_inference_config_not_an_object(client) -> None:
    body = {"messages": _user({"text": "hi"}), "inferenceConfig": "x"}
    assert invoke_error(client, body, model=NOVA) == "The value at inferenceConfig is invalid: it must be an object."


@pytest.mark.parametrize("extra, message", [
    ({"top_p": "x", "thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
     malformed("#/top_p: expected type: Number, found: String")),
    ({"top_p": 2}, "top_p: range: 0..1"),
    ({"top_k": "x"}, malformed("#/top_k: expected type: Integer, found: String")),
    ({"system": [{"type": "text", "text": "x", "cache_control": "x"}]},
     "a cache breakpoint (cache_control, cachePoint) must be an object"),
    ({"system": [{"type": "text", "text": {"x": 1}}]}, "system: Input should be a valid list of text blocks"),
    ({"messages": _user({"type": "text", "text": ["x"]})},
     "messages.0.content.0.text.text: Input should be a valid string"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "t", "name": "lookup", "input": "x"}]}],
      "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]},
     "messages.1.content.0.tool_use.input: Input should be a valid dictionary"),
])
def test_invoke_members_of_the_wrong_type(client, extra: dict[str, Any], message: str) -> None:
    assert invoke_error(client, claude_body(**extra)) == message


def test_titan_sampling_values_are_numbers(client) -> None:
    body = {"inputText": "hi", "textGenerationConfig": {"temperature": "x"}}
    assert invoke_error(client, body, model=TITAN) == malformed(
        "#/textGenerationConfig/temperature: expected type: Number, found: String")


# -- bodies nested deeper than the emulator parses: a 400, not a dropped connection ---------------------

def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_invoke_body_nested_too_deeply(client, emulator) -> None:
    body = '{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": %s}' % _deep(MAX_DEPTH + 500)
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=SONNET_45, body=body)
    assert _assert_validation(exc.value) == malformed(f"#: the JSON nests more than {MAX_DEPTH} levels deep")
    log = requests.get(f"{emulator.url}/_emulator/requests", timeout=5).json()
    assert [(entry["status"], entry["body"]) for entry in log] == [(400, None)]


def _converse_refused_as_unparsable(client) -> None:
    """The swapped Converse body is a 400 SerializationException, as for a body that is not JSON."""
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=SONNET_45, messages=_user({"text": "x"}))
    response = exc.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "SerializationException"


def test_converse_body_nested_too_deeply(client, swapped_body) -> None:
    tool_input = json.loads(_deep(MAX_DEPTH + 200))
    swapped_body({"messages": _user({"toolUse": {"toolUseId": "t", "name": "x", "input": tool_input}})}, "Converse")
    _converse_refused_as_unparsable(client)


def test_nesting_up_to_the_limit_is_answered(client) -> None:
    tool_input = json.loads(_deep(MAX_DEPTH - 10))
    body = claude_body(tools=[{"name": "lookup", "input_schema": {"type": "object"}}], messages=[
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "lookup",
                                           "input": {"x": tool_input}}]},
        {"role": "user", "content": "b"}])
    assert client.invoke_model(modelId=SONNET_45, body=json.dumps(body))["ResponseMetadata"]["HTTPStatusCode"] == 200


# -- a lone surrogate (half a UTF-16 pair, which no UTF-8 text can carry): a 400, not a 500 -------------

LONE_SURROGATE = "a\ud800b"


@pytest.mark.parametrize("stream", [False, True])
def test_invoke_lone_surrogate(client, stream: bool) -> None:
    body = claude_body(LONE_SURROGATE)
    assert json.dumps(body).count("\\ud800") == 1   # json writes it as the escape, as a JavaScript client would
    assert invoke_error(client, body, stream=stream) == malformed(
        "#: a string holds a lone surrogate (half a UTF-16 pair), which is not Unicode text")


def test_converse_lone_surrogate_in_a_key(client, swapped_body) -> None:
    swapped_body(_converse(toolConfig={"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {
        "type": "object", "properties": {LONE_SURROGATE: {"type": "string"}}}}}}]}), "Converse")
    _converse_refused_as_unparsable(client)


def test_mantle_lone_surrogate(emulator) -> None:
    response = mantle_post(emulator.url, MANTLE_MESSAGES, mantle_body(LONE_SURROGATE))
    assert response.status_code == 400 and "lone surrogate" in response.json()["error"]["message"]


def test_surrogate_pairs_are_text(client, emulator) -> None:
    """An emoji outside the BMP, written (as json and boto3 write it) as an escaped surrogate pair."""
    body = claude_body("Say \U0001F600 please")
    assert "\\ud83d\\ude00" in json.dumps(body)
    message = json.loads(client.invoke_model(modelId=SONNET_45, body=json.dumps(body))["body"].read())
    assert message["content"][0]["text"].startswith("Emulated reply to: Say \U0001F600 please")
    response = client.converse(modelId=SONNET_45, messages=_user({"text": "Say \U0001F600"}))
    assert response["output"]["message"]["content"][0]["text"].startswith("Emulated reply to: Say \U0001F600")


def test_request_log_keeps_a_lone_surrogate(client, emulator) -> None:
    with pytest.raises(ClientError):
        client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body(LONE_SURROGATE)))
    [entry] = requests.get(f"{emulator.url}/_emulator/requests", timeout=5).json()
    assert entry["status"] == 400 and entry["body"]["messages"][0]["content"] == LONE_SURROGATE


# -- the control API: a 400 with the reason, not a dropped connection -----------------------------------

@pytest.mark.parametrize("route, method, body", [
    ("faults", "POST", {"type": {"x": 1}}),
    ("faults", "POST", {"type": "stream_exception", "exception": ["x"]}),
    ("faults", "POST", {"type": "throttle", "count": 1e309}),
    ("settings", "PUT", {"output_tokens": 1e309}),
    ("settings", "PUT", {"latency_ms": 1e309}),
])
def test_control_api_refuses_bad_values(emulator, route: str, method: str, body: dict[str, Any]) -> None:
    response = requests.request(method, f"{emulator.url}/_emulator/{route}", data=json.dumps(body), timeout=5)
    assert response.status_code == 400 and response.json()["error"]
    assert requests.get(f"{emulator.url}/_emulator/settings", timeout=5).json()["latency_ms"] == 0
