"""InvokeModel: Claude (Anthropic body) and Titan/Nova, validation, content semantics."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import HAIKU_3, NOVA, SONNET_45, TITAN, claude_body

SONNET_46 = "us.anthropic.claude-sonnet-4-6"

WEATHER_TOOL = {"name": "get_weather", "description": "Weather for a city",
                "input_schema": {"type": "object", "required": ["city", "days", "units"],
                                 "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                                "units": {"enum": ["metric", "imperial"]},
                                                "verbose": {"type": "boolean"}}}}


def _client_error(client, model: str, body: object) -> ClientError:
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=model, body=json.dumps(body))
    return exc.value


def test_claude_message_shape_and_usage_headers(invoke) -> None:
    result = invoke(claude_body())
    message, headers = result["json"], result["headers"]
    assert message["id"].startswith("msg_bdrk_") and len(message["id"]) == len("msg_bdrk_") + 24
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["model"] == "claude-sonnet-4-5-20250929"
    assert message["content"][0]["text"].startswith("Emulated reply to: Say hello world please")
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    usage = message["usage"]
    assert usage["output_tokens"] == 12 == len(message["content"][0]["text"].split())
    assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    assert headers["x-amzn-bedrock-input-token-count"] == str(usage["input_tokens"])
    assert headers["x-amzn-bedrock-output-token-count"] == "12"
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert "x-amzn-bedrock-cache-read-input-token-count" not in headers
    assert headers["content-type"] == "application/json" and headers["x-amzn-requestid"]


@pytest.mark.parametrize("model_id, name", [
    (HAIKU_3, "claude-3-haiku-20240307"),
    ("eu.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet-20241022"),
    ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
    ("us-gov.anthropic.claude-sonnet-4-6", "claude-sonnet-4-6"),
    ("apac.anthropic.claude-opus-4-7", "claude-opus-4-7"),
    ("arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0",
     "claude-3-7-sonnet-20250219"),
    ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/kbgdevelop01",
     "claude-sonnet-4-5-20250929"),
])
def test_model_id_forms(invoke, model_id: str, name: str) -> None:
    assert invoke(claude_body(), model=model_id)["json"]["model"] == name


def test_unknown_model_and_on_demand_errors(client) -> None:
    error = _client_error(client, "anthropic.claude-9-ultra-v1:0", claude_body())
    assert error.response["Error"] == {"Code": "ValidationException",
                                       "Message": "The provided model identifier is invalid."}
    error = _client_error(client, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/nosuchprofi1",
                          claude_body())
    assert error.response["Error"]["Code"] == "ValidationException"
    error = _client_error(client, "anthropic.claude-sonnet-4-5-20250929-v1:0", claude_body())
    assert error.response["Error"]["Message"] == (
        "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't "
        "supported. Retry your request with the ID or ARN of an inference profile that contains this model.")


@pytest.mark.parametrize("body, fragment", [
    (claude_body(model="claude"), "extraneous key [model] is not permitted"),
    (claude_body(stream=True), "extraneous key [stream] is not permitted"),
    (claude_body(anthropic_version="2023-06-01"), "anthropic_version"),
    ({"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "x"}]},
     "required key [max_tokens] not found"),
    (claude_body(max_tokens=0), "max_tokens"),
    (claude_body(messages=[]), "at least one message"),
    (claude_body(anthropic_beta=["made-up-beta-2099-01-01"]), "invalid beta flag"),
    (claude_body(thinking={"type": "enabled", "budget_tokens": 500}), "budget_tokens"),
    (claude_body(thinking={"type": "enabled", "budget_tokens": 4000}), "must be greater than"),
    ([1, 2], "expected type: JSONObject"),
])
def test_claude_body_validation(client, body: object, fragment: str) -> None:
    error = _client_error(client, SONNET_45, body)
    assert error.response["Error"]["Code"] == "ValidationException"
    assert fragment in error.response["Error"]["Message"]


def test_invalid_beta_flag_exact_body(client) -> None:
    error = _client_error(client, SONNET_45, claude_body(anthropic_beta=["nope"]))
    assert error.response["Error"]["Message"] == "invalid beta flag"


def test_known_betas_and_claude_code_fields_accepted(invoke) -> None:
    body = claude_body(anthropic_beta=["claude-code-20250219", "interleaved-thinking-2025-05-14",
                                       "context-1m-2025-08-07", "tool-search-tool-2025-10-19"],
                       metadata={"user_id": "u"}, output_config={"effort": "high"},
                       context_management={"edits": []}, max_tokens=32000,
                       thinking={"type": "enabled", "budget_tokens": 31999})
    assert invoke(body, SONNET_46)["json"]["content"][0]["type"] == "thinking"   # the effort: Claude 4.6 (see below)


def test_determinism(invoke) -> None:
    first, second = invoke(claude_body("Tell me about otters")), invoke(claude_body("Tell me about otters"))
    assert first["json"]["content"] == second["json"]["content"]
    assert first["json"]["id"] != second["json"]["id"]
    other = invoke(claude_body("Tell me about badgers"))
    assert other["json"]["content"] != first["json"]["content"]


def test_output_tokens_setting_and_max_tokens_cap(emulator, invoke) -> None:
    emulator.update_settings(output_tokens=30)
    assert invoke(claude_body())["json"]["usage"]["output_tokens"] == 30
    capped = invoke(claude_body(max_tokens=5))["json"]
    assert capped["stop_reason"] == "max_tokens" and capped["usage"]["output_tokens"] == 5
    assert capped["content"][0]["text"] == "Emulated reply to: Say hello"


def test_stop_sequence(invoke) -> None:
    message = invoke(claude_body(stop_sequences=["world"]))["json"]
    assert message["stop_reason"] == "stop_sequence" and message["stop_sequence"] == "world"
    assert message["content"][0]["text"] == "Emulated reply to: Say hello "
    assert message["usage"]["output_tokens"] == 6


@pytest.mark.parametrize("extra, text, blocks", [
    # A forced call starts the turn (Anthropic prefills it); a chosen one follows a sentence.
    ({"tool_choice": {"type": "any"}}, "What now?", ["tool_use"]),
    ({}, "please use tool for this", ["text", "tool_use"]),
    ({}, "could you call get_weather", ["text", "tool_use"]),
    ({"tool_choice": {"type": "tool", "name": "get_weather"}}, "hi", ["tool_use"]),
])
def test_tool_use(invoke, extra: dict, text: str, blocks: list[str]) -> None:
    message = invoke(claude_body(text, tools=[WEATHER_TOOL], **extra))["json"]
    assert message["stop_reason"] == "tool_use"
    assert [b["type"] for b in message["content"]] == blocks
    tool = message["content"][-1]
    assert tool["id"].startswith("toolu_bdrk_") and tool["name"] == "get_weather"
    assert tool["input"] == {"city": "example", "days": 1, "units": "metric"}


def test_no_tool_without_trigger_and_tool_result_answer(invoke) -> None:
    assert invoke(claude_body("hello", tools=[WEATHER_TOOL]))["json"]["stop_reason"] == "end_turn"
    history = [
        {"role": "user", "content": "use tool please"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                           "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny 21C"}]},
    ]
    message = invoke(claude_body(tools=[WEATHER_TOOL], messages=history))["json"]
    assert message["stop_reason"] == "end_turn"
    assert "tool result Sunny 21C" in message["content"][0]["text"]



def test_tool_blocks_without_tools_are_refused_as_anthropic_does(client) -> None:
    history = [{"role": "user", "content": "use tool please"},
               {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                                  "input": {"city": "Paris"}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}]}]
    error = _client_error(client, SONNET_45, claude_body(messages=history))
    assert error.response["Error"]["Code"] == "ValidationException"
    assert "must define tools" in error.response["Error"]["Message"]


def test_thinking_block_counted_in_output(invoke) -> None:
    plain = invoke(claude_body(max_tokens=4000))["json"]
    for kind, model in (({"type": "enabled", "budget_tokens": 2048}, SONNET_45), ({"type": "adaptive"}, SONNET_46)):
        message = invoke(claude_body(max_tokens=4000, thinking=kind), model)["json"]
        thinking = message["content"][0]
        assert thinking["type"] == "thinking" and thinking["thinking"] and thinking["signature"]
        assert message["usage"]["output_tokens"] == plain["usage"]["output_tokens"] + len(thinking["thinking"].split())


def test_adaptive_thinking_is_refused_before_claude_4_6_as_bedrock_does(client) -> None:
    error = _client_error(client, SONNET_45, claude_body(max_tokens=4000, thinking={"type": "adaptive"}))
    assert error.response["Error"]["Code"] == "ValidationException"
    assert "Input tag 'adaptive' found using 'type'" in error.response["Error"]["Message"]


def test_an_effort_is_refused_where_claude_has_none_as_bedrock_does(client, invoke) -> None:
    """output_config.effort came with Opus 4.5 and Claude 4.6; Bedrock's Sonnet 4.5 answers it with a 400
    (anthropics/claude-code#30795)."""
    effort = {"effort": "high"}
    error = _client_error(client, SONNET_45, claude_body(output_config=effort))
    assert error.response["Error"]["Code"] == "ValidationException"
    assert error.response["Error"]["Message"] == "This model does not support the effort parameter."
    for model in (SONNET_46, "us.anthropic.claude-opus-4-5-20251101-v1:0"):
        assert invoke(claude_body(output_config=effort), model)["json"]["stop_reason"] == "end_turn"


def test_images_cost_fixed_tokens_and_are_mentioned(invoke) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": base64.b64encode(b"\x89PNG fake").decode()}}
    message = invoke(claude_body(messages=[{"role": "user", "content": [image, {"type": "text",
                                                                                "text": "What is it"}]}]))["json"]
    assert message["usage"]["input_tokens"] >= 1000
    assert "an image" in message["content"][0]["text"]


def test_prompt_caching_write_then_read(invoke) -> None:
    system = [{"type": "text", "text": "You are a careful assistant. " * 40, "cache_control": {"type": "ephemeral"}}]
    first = invoke(claude_body("first question", system=system))
    second = invoke(claude_body("second question", system=system))
    u1, u2 = first["json"]["usage"], second["json"]["usage"]
    assert u1["cache_creation_input_tokens"] > 0 and u1["cache_read_input_tokens"] == 0
    assert u2["cache_read_input_tokens"] == u1["cache_creation_input_tokens"]
    assert u2["cache_creation_input_tokens"] == 0
    assert u2["input_tokens"] < u2["cache_read_input_tokens"]
    assert second["headers"]["x-amzn-bedrock-cache-read-input-token-count"] == str(u2["cache_read_input_tokens"])
    assert second["headers"]["x-amzn-bedrock-cache-write-input-token-count"] == "0"
    assert first["headers"]["x-amzn-bedrock-cache-write-input-token-count"] == str(u1["cache_creation_input_tokens"])


def test_caching_multi_turn_reads_previous_breakpoint(invoke) -> None:
    def turn(messages: list) -> dict:
        *history, last = messages
        marked = {"role": last["role"], "content": [{"type": "text", "text": last["content"],
                                                     "cache_control": {"type": "ephemeral"}}]}
        return invoke(claude_body(messages=history + [marked]))["json"]["usage"]

    turn1 = [{"role": "user", "content": "A long opening question " * 20}]
    first = turn(turn1)
    assert first["cache_creation_input_tokens"] > 0
    turn2 = [{"role": "user", "content": [{"type": "text", "text": turn1[0]["content"],
                                           "cache_control": {"type": "ephemeral"}}]},
             {"role": "assistant", "content": "An answer."}, {"role": "user", "content": "Follow-up?"}]
    second = turn(turn2)
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] > 0


def test_titan_invoke(invoke) -> None:
    body = {"inputText": "Summarise the plan", "textGenerationConfig": {"maxTokenCount": 50, "temperature": 0.5}}
    result = invoke(body, model=TITAN)
    output = result["json"]
    assert output["inputTextTokenCount"] >= 1
    assert output["results"][0]["outputText"].startswith("Emulated reply to: Summarise the plan")
    assert output["results"][0]["tokenCount"] == 12 and output["results"][0]["completionReason"] == "FINISH"
    assert result["headers"]["x-amzn-bedrock-output-token-count"] == "12"
    short = invoke({"inputText": "x", "textGenerationConfig": {"maxTokenCount": 3}}, model=TITAN)["json"]
    assert short["results"][0]["completionReason"] == "LENGTH"


def test_titan_validation(client) -> None:
    error = _client_error(client, TITAN, claude_body())
    assert "extraneous key [anthropic_version]" in error.response["Error"]["Message"]


def test_nova_invoke(invoke) -> None:
    body = {"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": "Hi Nova"}]}],
            "inferenceConfig": {"maxTokens": 100}}
    output = invoke(body, model=NOVA)["json"]
    assert output["output"]["message"]["content"][0]["text"].startswith("Emulated reply to: Hi Nova")
    assert output["stopReason"] == "end_turn" and output["usage"]["outputTokens"] == 12


def test_request_log_records_what_reached_bedrock(emulator, invoke) -> None:
    invoke(claude_body("logged"))
    entry = emulator.requests()[-1]
    assert entry["operation"] == "invoke" and entry["model_id"] == SONNET_45
    assert entry["path"] == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke"
    assert entry["body"]["messages"][0]["content"] == "logged"
    assert entry["headers"]["authorization"] == "<redacted>" and entry["headers"]["x-amz-date"]
    assert entry["status"] == 200
