"""Converse, ConverseStream and CountTokens through boto3's real client."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import HAIKU_3, NOVA, SONNET_45, TITAN, claude_body, make_client

TOOL_CONFIG = {"tools": [{"toolSpec": {"name": "get_time", "description": "Current time", "inputSchema": {
    "json": {"type": "object", "required": ["tz"], "properties": {"tz": {"type": "string"}}}}}}]}


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


def _error(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response["Error"]


@pytest.mark.parametrize("model", [SONNET_45, HAIKU_3, TITAN, NOVA])
def test_converse_shape(client, model: str) -> None:
    response = client.converse(modelId=model, messages=_user("Hello converse"),
                               inferenceConfig={"maxTokens": 100})
    text = response["output"]["message"]["content"][0]["text"]
    assert text.startswith("Emulated reply to: Hello converse")
    assert response["stopReason"] == "end_turn"
    usage = response["usage"]
    assert usage["outputTokens"] == 12
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert usage["cacheReadInputTokens"] == usage["cacheWriteInputTokens"] == 0
    assert response["metrics"]["latencyMs"] >= 0


def test_converse_tool_use_and_result(client) -> None:
    response = client.converse(modelId=SONNET_45, messages=_user("call get_time please"), toolConfig=TOOL_CONFIG)
    assert response["stopReason"] == "tool_use"
    tool_use = response["output"]["message"]["content"][1]["toolUse"]
    assert tool_use["toolUseId"].startswith("tooluse_") and tool_use["input"] == {"tz": "example"}
    history = _user("call get_time please") + [
        response["output"]["message"],
        {"role": "user", "content": [{"toolResult": {"toolUseId": tool_use["toolUseId"],
                                                     "content": [{"json": {"time": "12:00"}}]}}]}]
    final = client.converse(modelId=SONNET_45, messages=history, toolConfig=TOOL_CONFIG)
    assert final["stopReason"] == "end_turn"
    assert "tool result" in final["output"]["message"]["content"][0]["text"]


def test_converse_validation(client) -> None:
    history = [{"role": "user", "content": [{"text": "x"}]},
               {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_time", "input": {}}}]},
               {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "noon"}]}}]}]
    error = _error(client.converse, modelId=SONNET_45, messages=history)
    assert error == {"Code": "ValidationException", "Message":
                     "The toolConfig field must be defined when using toolUse and toolResult content blocks."}
    error = _error(client.converse, modelId=TITAN, messages=_user("x"), toolConfig=TOOL_CONFIG)
    assert error["Message"] == "This model doesn't support tool use."
    error = _error(client.converse, modelId=SONNET_45, messages=[{"role": "assistant", "content": [{"text": "x"}]}])
    assert "must start with a user message" in error["Message"]
    error = _error(client.converse, modelId=SONNET_45, messages=_user("a") + _user("b"))
    assert "alternate" in error["Message"]
    error = _error(client.converse, modelId=SONNET_45, messages=[{"role": "user", "content": []}])
    assert "is empty" in error["Message"]


def test_converse_thinking_and_cache_point(client) -> None:
    system = [{"text": "Stable instructions. " * 40}, {"cachePoint": {"type": "default"}}]
    kwargs = dict(modelId=SONNET_45, system=system, messages=_user("think"), inferenceConfig={"maxTokens": 4000},
                  additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    first, second = client.converse(**kwargs), client.converse(**kwargs)
    reasoning = first["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
    assert reasoning["text"] and reasoning["signature"]
    assert first["usage"]["cacheWriteInputTokens"] > 0
    assert second["usage"]["cacheReadInputTokens"] == first["usage"]["cacheWriteInputTokens"]
    u = second["usage"]
    assert u["totalTokens"] == u["inputTokens"] + u["cacheReadInputTokens"] + u["cacheWriteInputTokens"] + \
        u["outputTokens"]
    assert first["output"] == second["output"]


def test_converse_stream_events(client) -> None:
    response = client.converse_stream(modelId=SONNET_45, messages=_user("call get_time"), toolConfig=TOOL_CONFIG)
    events = list(response["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and names[-2:] == ["messageStop", "metadata"]
    assert names.count("contentBlockStart") == 1
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["contentBlockIndex"] == 1 and start["start"]["toolUse"]["name"] == "get_time"
    tool_input = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
                         if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"])
    assert json.loads(tool_input) == {"tz": "example"}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    metadata = events[-1]["metadata"]
    assert metadata["usage"]["outputTokens"] > 0 and metadata["metrics"]["latencyMs"] >= 0


def test_converse_stream_text_matches_converse(client) -> None:
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "")
                   for e in client.converse_stream(modelId=NOVA, messages=_user("same"))["stream"]
                   if "contentBlockDelta" in e)
    assert text == client.converse(modelId=NOVA, messages=_user("same"))["output"]["message"]["content"][0]["text"]


def test_count_tokens_matches_invoke_and_converse(client, invoke) -> None:
    body = claude_body("Count these tokens please", system="Be brief.")
    billed = invoke(body)["json"]["usage"]
    counted = client.count_tokens(modelId="anthropic.claude-sonnet-4-5-20250929-v1:0",
                                  input={"invokeModel": {"body": json.dumps(body).encode()}})
    assert counted["inputTokens"] == billed["input_tokens"] + billed["cache_read_input_tokens"] + \
        billed["cache_creation_input_tokens"]
    converse_input = {"messages": _user("Count these tokens please"), "system": [{"text": "Be brief."}]}
    counted = client.count_tokens(modelId=SONNET_45, input={"converse": converse_input})
    usage = client.converse(modelId=SONNET_45, **converse_input)["usage"]
    assert counted["inputTokens"] == usage["totalTokens"] - usage["outputTokens"]


def test_count_tokens_unsupported_for_titan_and_nova(client) -> None:
    for model in (TITAN, NOVA):
        error = _error(client.count_tokens, modelId=model, input={"converse": {"messages": _user("x")}})
        assert error == {"Code": "ValidationException",
                         "Message": "The provided model doesn't support counting tokens."}


@pytest.mark.parametrize("model", [HAIKU_3, TITAN])
def test_a_cache_point_on_a_model_without_prompt_caching_is_refused(client, model) -> None:
    system = [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}]
    error = _error(client.converse, modelId=model, messages=_user("hi"), system=system)
    assert error["Code"] == "ValidationException" and "prompt caching" in error["Message"]
    client.converse(modelId=model, messages=_user("hi"), system=system[:1])


def test_a_cache_point_on_nova_and_claude_45_is_served(client) -> None:
    system = [{"text": "You are terse. " * 300}, {"cachePoint": {"type": "default"}}]
    for model in (NOVA, SONNET_45):
        client.converse(modelId=model, messages=_user("hi"), system=system)
        again = client.converse(modelId=model, messages=_user("hi"), system=system)
        assert again["usage"]["cacheReadInputTokens"] > 0


def test_invoke_cache_control_on_claude_3_haiku_is_refused(client) -> None:
    body = claude_body(system=[{"type": "text", "text": "terse", "cache_control": {"type": "ephemeral"}}])
    error = _error(client.invoke_model, modelId=HAIKU_3, body=json.dumps(body))
    assert "prompt caching" in error["Message"]


def test_converse_request_metadata_limits(client) -> None:
    """Bedrock keeps requestMetadata for its invocation logs: 1-16 pairs in its character set (no value echoed)."""
    ok = client.converse(modelId=SONNET_45, messages=_user("hi"), requestMetadata={"team": "search-2 eu:prod"})
    assert ok["output"]["message"]["content"][0]["text"]
    too_many = _error(client.converse, modelId=SONNET_45, messages=_user("hi"),
                      requestMetadata={f"k{i}": "v" for i in range(17)})
    assert too_many["Code"] == "ValidationException" and too_many["Message"] == (
        "1 validation error detected: Value at 'requestMetadata' failed to satisfy constraint: Member must have "
        "length less than or equal to 16")
    bad_key = _error(client.converse, modelId=SONNET_45, messages=_user("hi"), requestMetadata={"who?": "x"})
    assert "Map keys must satisfy constraint" in bad_key["Message"] and "who?" not in bad_key["Message"]
    bad_value = _error(client.converse, modelId=SONNET_45, messages=_user("hi"), requestMetadata={"k": "ça"})
    assert "Map value must satisfy constraint" in bad_value["Message"] and "ça" not in bad_value["Message"]


def test_invoke_model_request_metadata_header(emulator) -> None:
    """InvokeModel takes the same pairs as a JSON object in X-Amzn-Bedrock-Request-Metadata (Bedrock's user guide;
    botocore does not model it yet, so a hook adds it), under requestMetadata's rules."""
    client, sent = make_client(emulator.url), {}
    client.meta.events.register("before-sign.bedrock-runtime.InvokeModel",
                                lambda request, **_: request.headers.__setitem__(
                                    "X-Amzn-Bedrock-Request-Metadata", sent["header"]))

    def invoke(header: str) -> dict:
        sent["header"] = header
        return json.loads(client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body("hi")))["body"].read())

    assert invoke('{"team": "search-2 eu:prod"}')["content"][0]["text"]
    for header, message in (("team=search", "must be a JSON object of string keys and string values"),
                            ('["team"]', "must be a JSON object of string keys and string values"),
                            (json.dumps({f"k{i}": "v" for i in range(17)}), "length less than or equal to 16"),
                            ('{"k": "\\u00e7a"}', "Map value must satisfy constraint")):
        with pytest.raises(ClientError) as caught:
            invoke(header)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert message in caught.value.response["Error"]["Message"]
