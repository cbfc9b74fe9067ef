"""What Claude refuses while thinking, in the emulator as on Bedrock (InvokeModel and Converse)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import SONNET_45, claude_body

THINK = {"type": "enabled", "budget_tokens": 1024}
TOOL = {"name": "lookup", "input_schema": {"type": "object"}}
CONVERSE_TOOLS = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]}


def _invoke_error(client, body: dict) -> str:
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=SONNET_45, body=json.dumps(body))
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return exc.value.response["Error"]["Message"]


def _loop(opener: list[dict]) -> list[dict]:
    return [{"role": "user", "content": "Where is order 42?"},
            {"role": "assistant", "content": [*opener, {"type": "tool_use", "id": "t1", "name": "lookup",
                                                        "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "shipped"}]}]


@pytest.mark.parametrize("extra, words", [
    ({"temperature": 0.5}, "`temperature` may only be set to 1"),
    ({"top_p": 0.5}, "`top_p` must be greater than or equal to 0.95"),
    ({"tools": [TOOL], "tool_choice": {"type": "any"}}, "tool_choice forces tool use"),
])
def test_invoke_refuses_with_thinking(client, extra: dict, words: str) -> None:
    assert words in _invoke_error(client, claude_body(max_tokens=2000, thinking=THINK, **extra))
    client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body(max_tokens=2000, **extra)))


def test_invoke_does_not_enforce_the_tool_loop_rule(client) -> None:
    """Converse only (see anthropic_body.parse_anthropic_body): Claude Code strips this emulator's thinking blocks."""
    body = claude_body(max_tokens=2000, thinking=THINK, tools=[TOOL])
    reply = client.invoke_model(modelId=SONNET_45, body=json.dumps({**body, "messages": _loop([])}))
    assert json.loads(reply["body"].read())["stop_reason"] == "end_turn"


def test_converse_refuses_temperature_and_a_bare_tool_loop_with_thinking(client) -> None:
    fields = {"thinking": THINK}
    user = [{"role": "user", "content": [{"text": "hi"}]}]
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=SONNET_45, messages=user, inferenceConfig={"maxTokens": 2000, "temperature": 0.3},
                        additionalModelRequestFields=fields)
    assert "`temperature` may only be set to 1" in exc.value.response["Error"]["Message"]
    loop = [user[0], {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup",
                                                                    "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}}]}]
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=SONNET_45, messages=loop, toolConfig=CONVERSE_TOOLS,
                        inferenceConfig={"maxTokens": 2000}, additionalModelRequestFields=fields)
    assert "found `tool_use`" in exc.value.response["Error"]["Message"]
    client.converse(modelId=SONNET_45, messages=loop, toolConfig=CONVERSE_TOOLS, inferenceConfig={"maxTokens": 2000})
