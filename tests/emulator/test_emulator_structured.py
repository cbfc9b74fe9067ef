"""Structured outputs in the emulator, through boto3's real client: the reply follows the schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from botocore.exceptions import ClientError
from emulator_helpers import HAIKU_3, NOVA, SONNET_45, TITAN, claude_body

ORDER = {"type": "object", "additionalProperties": False, "required": ["order_id", "status", "items"],
         "properties": {"order_id": {"type": "string"}, "status": {"enum": ["shipped", "pending"]},
                        "items": {"type": "integer"}, "note": {"type": "string"},
                        "customer": {"$ref": "#/$defs/Customer"}},
         "$defs": {"Customer": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}
WITH_CUSTOMER = {**ORDER, "required": [*ORDER["required"], "customer"]}


def _text_format(schema: dict) -> dict:
    return {"textFormat": {"type": "json_schema",
                           "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "order"}}}}


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


@pytest.mark.parametrize("schema", [ORDER, WITH_CUSTOMER])
def test_converse_reply_follows_the_schema(client, schema: dict) -> None:
    response = client.converse(modelId=SONNET_45, messages=_user("Where is order 42?"),
                               outputConfig=_text_format(schema))
    answer = json.loads(response["output"]["message"]["content"][0]["text"])
    jsonschema.validate(answer, schema)
    assert response["stopReason"] == "end_turn"
    assert ("customer" in answer) is ("customer" in schema["required"])


def test_converse_stream_reply_follows_the_schema(client) -> None:
    response = client.converse_stream(modelId=SONNET_45, messages=_user("Where is order 42?"),
                                      outputConfig=_text_format(ORDER))
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in response["stream"] if "contentBlockDelta" in e]
    assert len(deltas) > 1
    jsonschema.validate(json.loads("".join(deltas)), ORDER)


def test_invoke_claude_output_config_format(invoke) -> None:
    message = invoke(claude_body(output_config={"format": {"type": "json_schema", "schema": ORDER}}))["json"]
    jsonschema.validate(json.loads(message["content"][0]["text"]), ORDER)


@pytest.mark.parametrize("model", [TITAN, NOVA, HAIKU_3])
def test_models_without_structured_outputs_refuse(client, model: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=model, messages=_user("x"), outputConfig=_text_format(ORDER))
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException" and "structured outputs" in error["Message"]


def test_invoke_on_an_older_claude_refuses(client) -> None:
    body = claude_body(output_config={"format": {"type": "json_schema", "schema": ORDER}})
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=HAIKU_3, body=json.dumps(body))
    assert "structured outputs" in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize("output_config", [
    {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{not json", "name": "x"}}}},
    {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "[1]", "name": "x"}}}},
])
def test_converse_bad_schema_is_a_validation_error(client, output_config: dict) -> None:
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=SONNET_45, messages=_user("x"), outputConfig=output_config)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# Strict tool use: structured outputs applied to a tool's input, on the same models.

def _strict_tool(strict: object = True) -> dict:
    return {"tools": [{"toolSpec": {"name": "get_order", "inputSchema": {"json": ORDER}, "strict": strict}}],
            "toolChoice": {"tool": {"name": "get_order"}}}


def test_converse_strict_tool_call_follows_its_schema(client) -> None:
    response = client.converse(modelId=SONNET_45, messages=_user("Where is order 42?"), toolConfig=_strict_tool())
    call = next(b["toolUse"] for b in response["output"]["message"]["content"] if "toolUse" in b)
    jsonschema.validate(call["input"], ORDER)


@pytest.mark.parametrize("model", [NOVA, HAIKU_3])
def test_strict_tools_on_models_without_structured_outputs_refuse(client, model: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=model, messages=_user("x"), toolConfig=_strict_tool())
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException" and "strict tool use" in error["Message"]
    client.converse(modelId=model, messages=_user("x"), toolConfig=_strict_tool(False))   # not strict: served


def test_invoke_strict_tool_on_an_older_claude_refuses(client) -> None:
    tool = {"name": "get_order", "input_schema": ORDER, "strict": True}
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=HAIKU_3, body=json.dumps(claude_body(tools=[tool])))
    assert "strict tool use" in exc.value.response["Error"]["Message"]
    client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body(tools=[tool])))


def test_invoke_strict_must_be_a_boolean(client) -> None:
    tool = {"name": "get_order", "input_schema": ORDER, "strict": "yes"}
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body(tools=[tool])))
    assert "tools.0.strict" in exc.value.response["Error"]["Message"]
