"""Bedrock Guardrails at inference time, through boto3's real client: blocked input, traces, validation."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import NOVA, SECRET_KEY, SONNET_45, TITAN, claude_body, decode_stream, make_client

GUARD = "gwdemoguard1"
ARN = f"arn:aws:bedrock:us-east-1:123456789012:guardrail/{GUARD}"
BLOCKED = "Sorry, this request is not allowed by the shop's AI policy."
ASKS_COMPETITORS = "Are your competitors cheaper than you?"
CLEAN = "Where is my order 42?"
ZERO_USAGE = {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0, "cacheReadInputTokens": 0,
              "cacheWriteInputTokens": 0}
USAGE_FIELDS = ("topicPolicyUnits", "contentPolicyUnits", "wordPolicyUnits", "sensitiveInformationPolicyUnits",
                "sensitiveInformationPolicyFreeUnits", "contextualGroundingPolicyUnits")


def metrics(chars: int) -> dict:
    """invocationMetrics of an assessment of `chars` characters: the demo guardrail's denied-topic policy bills
    one text unit per started 1,000 characters; its other policies are not configured."""
    usage = {name: 0 for name in USAGE_FIELDS}
    usage["topicPolicyUnits"] = (chars + 999) // 1000
    return {"guardrailProcessingLatency": 1, "usage": usage,
            "guardrailCoverage": {"textCharacters": {"guarded": chars, "total": chars}}}


TOPIC_TRACE = {GUARD: {"topicPolicy": {"topics": [
    {"name": "Competitors", "type": "DENY", "action": "BLOCKED", "detected": True}]},
    "invocationMetrics": metrics(len(ASKS_COMPETITORS))}}
ID_PATTERN = r"^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$"
VERSION_PATTERN = r"^(([1-9][0-9]{0,7})|(DRAFT))$"
NOT_FOUND = "The guardrail identifier or version provided in the request does not exist."


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


def _config(identifier: str = GUARD, version: str = "1", **extra: str) -> dict:
    return {"guardrailIdentifier": identifier, "guardrailVersion": version, **extra}


def _invoke(client, text: str, model: str = SONNET_45, **guard: str) -> dict:
    response = client.invoke_model(modelId=model, body=json.dumps(claude_body(text)), **guard)
    return {"json": json.loads(response["body"].read()), "headers": response["ResponseMetadata"]["HTTPHeaders"]}


def _error(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    response = exc.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]


# -- Converse -----------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [SONNET_45, NOVA, TITAN])
@pytest.mark.parametrize("text", [ASKS_COMPETITORS, "Is the RIVAL shop open?", "a competitor, maybe"])
def test_converse_blocked(client, model: str, text: str) -> None:
    response = client.converse(modelId=model, messages=_user(text), guardrailConfig=_config())
    assert response["output"]["message"] == {"role": "assistant", "content": [{"text": BLOCKED}]}
    assert response["stopReason"] == "guardrail_intervened"
    assert response["usage"] == ZERO_USAGE
    assert "trace" not in response


@pytest.mark.parametrize("text", [CLEAN, "Our rivalry is friendly", "competitive prices", "competitorsX"])
def test_converse_not_blocked_answers_as_without_a_guardrail(client, text: str) -> None:
    plain = client.converse(modelId=SONNET_45, messages=_user(text))
    guarded = client.converse(modelId=SONNET_45, messages=_user(text), guardrailConfig=_config(trace="enabled"))
    assert guarded["output"] == plain["output"]
    assert guarded["output"]["message"]["content"][0]["text"].startswith("Emulated reply to:")
    assert guarded["stopReason"] == "end_turn" and guarded["usage"] == plain["usage"]
    assert guarded["usage"]["inputTokens"] > 0
    answer = guarded["output"]["message"]["content"][0]["text"]
    assert guarded["trace"] == {"guardrail": {      # nothing found: the trace still reports what was assessed
        "inputAssessment": {GUARD: {"invocationMetrics": metrics(len(text))}},
        "outputAssessments": {GUARD: [{"invocationMetrics": metrics(len(answer))}]}}}


def test_text_units_count_started_thousands_of_characters(client) -> None:
    for chars, units in ((1000, 1), (1001, 2), (2500, 3)):
        text = ("x" * 9 + " ") * (chars // 10) + "y" * (chars % 10)
        response = client.converse(modelId=SONNET_45, messages=_user(text), guardrailConfig=_config(trace="enabled"))
        usage = response["trace"]["guardrail"]["inputAssessment"][GUARD]["invocationMetrics"]["usage"]
        assert usage["topicPolicyUnits"] == units and usage["contentPolicyUnits"] == 0


@pytest.mark.parametrize("trace", ["enabled", "enabled_full"])
def test_converse_trace_shows_the_topic(client, trace: str) -> None:
    response = client.converse(modelId=SONNET_45, messages=_user(ASKS_COMPETITORS),
                               guardrailConfig=_config(trace=trace))
    assert response["trace"] == {"guardrail": {"inputAssessment": TOPIC_TRACE}}


def test_converse_trace_disabled_shows_none(client) -> None:
    response = client.converse(modelId=SONNET_45, messages=_user(ASKS_COMPETITORS),
                               guardrailConfig=_config(trace="disabled"))
    assert response["stopReason"] == "guardrail_intervened" and "trace" not in response


def test_only_the_last_user_turn_text_is_assessed(client) -> None:
    earlier = [*_user(ASKS_COMPETITORS), {"role": "assistant", "content": [{"text": "Maybe."}]}, *_user(CLEAN)]
    assert client.converse(modelId=SONNET_45, messages=earlier, guardrailConfig=_config())["stopReason"] == "end_turn"
    system = [{"text": "Never talk about a competitor or a rival."}]
    response = client.converse(modelId=SONNET_45, messages=_user(CLEAN), system=system, guardrailConfig=_config())
    assert response["stopReason"] == "end_turn"
    tools = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]}
    loop = [*_user("look it up"),
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "rival prices"}]}}]}]
    response = client.converse(modelId=SONNET_45, messages=loop, toolConfig=tools, guardrailConfig=_config())
    assert response["stopReason"] == "end_turn"
    assert response["output"]["message"]["content"][0]["text"].startswith("Emulated reply to: tool result rival")


def test_converse_stream_blocked(client) -> None:
    response = client.converse_stream(modelId=SONNET_45, messages=_user(ASKS_COMPETITORS),
                                      guardrailConfig=_config(trace="enabled", streamProcessingMode="async"))
    events = list(response["stream"])
    assert [next(iter(e)) for e in events] == ["messageStart", "contentBlockDelta", "contentBlockStop",
                                               "messageStop", "metadata"]
    assert events[0]["messageStart"] == {"role": "assistant"}
    assert events[1]["contentBlockDelta"] == {"contentBlockIndex": 0, "delta": {"text": BLOCKED}}
    assert events[3]["messageStop"]["stopReason"] == "guardrail_intervened"
    metadata = events[4]["metadata"]
    assert metadata["usage"] == ZERO_USAGE
    assert metadata["trace"] == {"guardrail": {"inputAssessment": TOPIC_TRACE}}


def test_converse_stream_not_blocked_streams_the_reply(client) -> None:
    response = client.converse_stream(modelId=SONNET_45, messages=_user(CLEAN), guardrailConfig=_config())
    events = list(response["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text.startswith("Emulated reply to: Where is my order 42?")
    assert events[-2]["messageStop"]["stopReason"] == "end_turn" and "trace" not in events[-1]["metadata"]
    traced = client.converse_stream(modelId=SONNET_45, messages=_user(CLEAN), guardrailConfig=_config(trace="enabled"))
    events = list(traced["stream"])
    answer = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert events[-1]["metadata"]["trace"] == {"guardrail": {
        "inputAssessment": {GUARD: {"invocationMetrics": metrics(len(CLEAN))}},
        "outputAssessments": {GUARD: [{"invocationMetrics": metrics(len(answer))}]}}}


GOV_ARN = f"arn:aws-us-gov:bedrock:us-gov-west-1:000000000000:guardrail/{GUARD}"


@pytest.mark.parametrize("identifier, version", [(ARN, "DRAFT"), (GUARD, "DRAFT"), (GOV_ARN, "1")])
def test_identifier_forms_and_versions(client, identifier: str, version: str) -> None:
    response = client.converse(modelId=SONNET_45, messages=_user(ASKS_COMPETITORS),
                               guardrailConfig=_config(identifier, version, trace="enabled"))
    assert response["stopReason"] == "guardrail_intervened"
    assert response["trace"]["guardrail"]["inputAssessment"] == TOPIC_TRACE   # keyed by the id, not the ARN
    result = _invoke(client, ASKS_COMPETITORS, guardrailIdentifier=identifier, guardrailVersion=version)
    assert result["json"]["amazon-bedrock-guardrailAction"] == "INTERVENED"


# -- InvokeModel (Claude) -----------------------------------------------------------------------

def test_invoke_claude_blocked(client) -> None:
    result = _invoke(client, ASKS_COMPETITORS, guardrailIdentifier=GUARD, guardrailVersion="1")
    message, headers = result["json"], result["headers"]
    assert message["content"] == [{"type": "text", "text": BLOCKED}]
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert message["usage"] == {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 0,
                                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
    assert message["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert "amazon-bedrock-trace" not in message
    assert message["id"].startswith("msg_bdrk_") and message["model"] == "claude-sonnet-4-5-20250929"
    assert headers["x-amzn-bedrock-input-token-count"] == "0"
    assert headers["x-amzn-bedrock-output-token-count"] == "0"


def test_invoke_claude_not_blocked(client) -> None:
    plain = _invoke(client, CLEAN)
    guarded = _invoke(client, CLEAN, guardrailIdentifier=GUARD, guardrailVersion="1", trace="ENABLED")
    message = guarded["json"]
    assert message.pop("amazon-bedrock-guardrailAction") == "NONE"
    answer = message["content"][0]["text"]
    assert message.pop("amazon-bedrock-trace") == {"guardrail": {
        "input": {GUARD: {"invocationMetrics": metrics(len(CLEAN))}},
        "outputs": [{GUARD: {"invocationMetrics": metrics(len(answer))}}]}}
    assert {k: v for k, v in message.items() if k != "id"} == {k: v for k, v in plain["json"].items() if k != "id"}
    assert message["content"][0]["text"].startswith("Emulated reply to: Where is my order 42?")
    input_count = "x-amzn-bedrock-input-token-count"
    assert guarded["headers"][input_count] == plain["headers"][input_count]
    assert int(guarded["headers"]["x-amzn-bedrock-output-token-count"]) == message["usage"]["output_tokens"] > 0
    assert "amazon-bedrock-guardrailAction" not in plain["json"]


@pytest.mark.parametrize("trace", ["ENABLED", "ENABLED_FULL"])
def test_invoke_claude_trace(client, trace: str) -> None:
    message = _invoke(client, ASKS_COMPETITORS, guardrailIdentifier=GUARD, guardrailVersion="1", trace=trace)["json"]
    assert message["amazon-bedrock-trace"] == {"guardrail": {"input": TOPIC_TRACE}}


def test_invoke_stream_blocked(client) -> None:
    response = client.invoke_model_with_response_stream(
        modelId=SONNET_45, body=json.dumps(claude_body(ASKS_COMPETITORS)), guardrailIdentifier=GUARD,
        guardrailVersion="DRAFT")
    events = decode_stream(response)
    assert [e["type"] for e in events] == ["message_start", "content_block_start", "content_block_delta",
                                           "content_block_stop", "message_delta", "message_stop"]
    assert events[0]["message"]["usage"]["input_tokens"] == 0
    assert events[2]["delta"] == {"type": "text_delta", "text": BLOCKED}
    assert events[4]["delta"]["stop_reason"] == "end_turn" and events[4]["usage"] == {"output_tokens": 0}
    last = events[-1]
    assert last["amazon-bedrock-guardrailAction"] == "INTERVENED"
    metrics = last["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == metrics["outputTokenCount"] == 0


def test_invoke_stream_not_blocked_says_none(client) -> None:
    response = client.invoke_model_with_response_stream(
        modelId=SONNET_45, body=json.dumps(claude_body(CLEAN)), guardrailIdentifier=GUARD, guardrailVersion="1")
    events = decode_stream(response)
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text.startswith("Emulated reply to: Where is my order 42?")
    assert events[-1]["amazon-bedrock-guardrailAction"] == "NONE"
    assert events[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 12


@pytest.mark.parametrize("model, body", [
    (TITAN, {"inputText": ASKS_COMPETITORS}),
    (NOVA, {"messages": _user(ASKS_COMPETITORS)}),
])
def test_invoke_non_claude_ignores_a_valid_guardrail(client, model: str, body: dict) -> None:
    response = client.invoke_model(modelId=model, body=json.dumps(body), guardrailIdentifier=GUARD,
                                   guardrailVersion="1")
    text = json.dumps(json.loads(response["body"].read()))
    assert "Emulated reply to: Are your competitors" in text and BLOCKED not in text
    error = _error(client.invoke_model, modelId=model, body=json.dumps(body), guardrailIdentifier=GUARD,
                   guardrailVersion="7")
    assert error == {"Code": "ValidationException", "Message": NOT_FOUND}


# -- Validation ---------------------------------------------------------------------------------

def test_converse_bad_identifier(client) -> None:
    error = _error(client.converse, modelId=SONNET_45, messages=_user(CLEAN), guardrailConfig=_config("x y"))
    assert error == {"Code": "ValidationException", "Message": (
        "1 validation error detected: Value 'x y' at 'guardrailConfig.guardrailIdentifier' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {ID_PATTERN}")}


def test_converse_bad_version_and_trace_together(client) -> None:
    error = _error(client.converse, modelId=SONNET_45, messages=_user(CLEAN),
                   guardrailConfig=_config(version="01", trace="on"))
    assert error["Message"] == (
        "2 validation errors detected: Value '01' at 'guardrailConfig.guardrailVersion' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {VERSION_PATTERN}; Value 'on' at "
        "'guardrailConfig.trace' failed to satisfy constraint: Member must satisfy enum value set: "
        "[enabled, disabled, enabled_full]")


def test_converse_missing_version(client) -> None:
    error = _error(client.converse, modelId=SONNET_45, messages=_user(CLEAN),
                   guardrailConfig={"guardrailIdentifier": GUARD})
    assert error["Message"] == ("1 validation error detected: Value null at 'guardrailConfig.guardrailVersion' "
                                "failed to satisfy constraint: Member must not be null")


def test_converse_stream_bad_processing_mode(client) -> None:
    error = _error(client.converse_stream, modelId=SONNET_45, messages=_user(CLEAN),
                   guardrailConfig=_config(streamProcessingMode="later"))
    assert error["Message"].endswith("Value 'later' at 'guardrailConfig.streamProcessingMode' failed to satisfy "
                                     "constraint: Member must satisfy enum value set: [sync, async]")


@pytest.mark.parametrize("identifier, version", [("otherguard", "1"), (GUARD, "2"),
                                                 ("arn:aws:bedrock:us-east-1:123456789012:guardrail/nope", "1")])
def test_unknown_guardrail_or_version(client, identifier: str, version: str) -> None:
    error = _error(client.converse, modelId=SONNET_45, messages=_user(ASKS_COMPETITORS),
                   guardrailConfig=_config(identifier, version))
    assert error == {"Code": "ValidationException", "Message": NOT_FOUND}
    error = _error(client.invoke_model, modelId=SONNET_45, body=json.dumps(claude_body(ASKS_COMPETITORS)),
                   guardrailIdentifier=identifier, guardrailVersion=version)
    assert error == {"Code": "ValidationException", "Message": NOT_FOUND}


@pytest.mark.parametrize("guard, message", [
    ({"guardrailIdentifier": "Bad_Id", "guardrailVersion": "1"},
     f"1 validation error detected: Value 'Bad_Id' at 'guardrailIdentifier' failed to satisfy constraint: "
     f"Member must satisfy regular expression pattern: {ID_PATTERN}"),
    ({"guardrailIdentifier": GUARD, "guardrailVersion": "draft"},
     f"1 validation error detected: Value 'draft' at 'guardrailVersion' failed to satisfy constraint: "
     f"Member must satisfy regular expression pattern: {VERSION_PATTERN}"),
    ({"guardrailIdentifier": GUARD, "guardrailVersion": "1", "trace": "enabled"},
     "1 validation error detected: Value 'enabled' at 'trace' failed to satisfy constraint: "
     "Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_FULL]"),
    ({"guardrailIdentifier": GUARD},
     "Both the guardrail identifier and the guardrail version must be provided "
     "(X-Amzn-Bedrock-GuardrailIdentifier and X-Amzn-Bedrock-GuardrailVersion)."),
    ({"guardrailVersion": "1"},
     "Both the guardrail identifier and the guardrail version must be provided "
     "(X-Amzn-Bedrock-GuardrailIdentifier and X-Amzn-Bedrock-GuardrailVersion)."),
])
@pytest.mark.parametrize("stream", [False, True])
def test_invoke_header_validation(client, guard: dict, message: str, stream: bool) -> None:
    call = client.invoke_model_with_response_stream if stream else client.invoke_model
    error = _error(call, modelId=SONNET_45, body=json.dumps(claude_body(CLEAN)), **guard)
    assert error == {"Code": "ValidationException", "Message": message}


# -- What a blocked request does not skip, and does not touch ----------------------------------

def test_blocked_request_does_not_touch_the_prompt_cache(client) -> None:
    system = [{"text": "Stable shop instructions. " * 40}, {"cachePoint": {"type": "default"}}]
    blocked = client.converse(modelId=SONNET_45, messages=_user(ASKS_COMPETITORS), system=system,
                              guardrailConfig=_config())
    assert blocked["usage"] == ZERO_USAGE
    first = client.converse(modelId=SONNET_45, messages=_user(ASKS_COMPETITORS), system=system)
    assert first["usage"]["cacheWriteInputTokens"] > 0 and first["usage"]["cacheReadInputTokens"] == 0


def test_blocked_request_still_meets_faults_and_sigv4(emulator, client) -> None:
    emulator.add_fault("throttle", operation="converse")
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=SONNET_45, messages=_user(ASKS_COMPETITORS), guardrailConfig=_config())
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"
    bad = make_client(emulator.url, secret_key=SECRET_KEY + "x")
    with pytest.raises(ClientError) as exc:
        bad.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body(ASKS_COMPETITORS)),
                         guardrailIdentifier=GUARD, guardrailVersion="1")
    assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert emulator.stats()["operations"] == {"converse": {"429": 1}, "invoke": {"403": 1}}


def test_request_log_keeps_what_named_the_guardrail(emulator, client) -> None:
    _invoke(client, CLEAN, guardrailIdentifier=GUARD, guardrailVersion="1", trace="DISABLED")
    client.converse(modelId=SONNET_45, messages=_user(CLEAN), guardrailConfig=_config())
    invoke_entry, converse_entry = emulator.requests()
    assert invoke_entry["headers"]["x-amzn-bedrock-guardrailidentifier"] == GUARD
    assert invoke_entry["headers"]["x-amzn-bedrock-guardrailversion"] == "1"
    assert invoke_entry["headers"]["x-amzn-bedrock-trace"] == "DISABLED"
    assert converse_entry["body"]["guardrailConfig"] == _config()


# -- The model's answer -------------------------------------------------------------------------

ASKS_MARGINS = "What margin do we make on sneakers?"   # the answer echoes it: "Emulated reply to: What margin"
WITHHELD = "Sorry, this answer was withheld by the shop's AI policy."


def _output_trace(answer: str) -> dict:
    return {GUARD: [{"topicPolicy": {"topics": [{"name": "Supplier margins", "type": "DENY", "action": "BLOCKED",
                                                 "detected": True}]},
                     "invocationMetrics": metrics(len(answer))}]}


def test_converse_answer_on_an_output_denied_topic_is_withheld_and_still_billed(client) -> None:
    plain = client.converse(modelId=SONNET_45, messages=_user(ASKS_MARGINS))
    answer = plain["output"]["message"]["content"][0]["text"]
    assert "margin" in answer
    guarded = client.converse(modelId=SONNET_45, messages=_user(ASKS_MARGINS), guardrailConfig=_config(trace="enabled"))
    assert guarded["output"]["message"]["content"] == [{"text": WITHHELD}]
    assert guarded["stopReason"] == "guardrail_intervened"
    assert guarded["usage"] == plain["usage"] and guarded["usage"]["outputTokens"] > 0   # the model ran
    assert guarded["trace"]["guardrail"] == {
        "inputAssessment": {GUARD: {"invocationMetrics": metrics(len(ASKS_MARGINS))}},
        "outputAssessments": _output_trace(answer)}


def test_converse_stream_answer_on_an_output_denied_topic_is_withheld(client) -> None:
    plain = client.converse(modelId=SONNET_45, messages=_user(ASKS_MARGINS))
    events = list(client.converse_stream(modelId=SONNET_45, messages=_user(ASKS_MARGINS),
                                         guardrailConfig=_config())["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == WITHHELD and "margin" not in json.dumps(events)
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"
    assert events[-1]["metadata"]["usage"] == plain["usage"]


def test_invoke_claude_answer_on_an_output_denied_topic_is_withheld(client) -> None:
    plain = _invoke(client, ASKS_MARGINS)["json"]
    result = _invoke(client, ASKS_MARGINS, guardrailIdentifier=GUARD, guardrailVersion="1", trace="ENABLED")
    message = result["json"]
    assert message["content"] == [{"type": "text", "text": WITHHELD}] and message["stop_reason"] == "end_turn"
    assert message["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert message["usage"] == plain["usage"] and message["usage"]["output_tokens"] > 0
    assert result["headers"]["x-amzn-bedrock-output-token-count"] == str(plain["usage"]["output_tokens"])
    outputs = message["amazon-bedrock-trace"]["guardrail"]["outputs"]
    assert outputs == [{GUARD: _output_trace(plain["content"][0]["text"])[GUARD][0]}]
    stream = decode_stream(client.invoke_model_with_response_stream(
        modelId=SONNET_45, body=json.dumps(claude_body(ASKS_MARGINS)), guardrailIdentifier=GUARD, guardrailVersion="1"))
    assert "".join(e["delta"]["text"] for e in stream if e["type"] == "content_block_delta") == WITHHELD
    assert stream[-1]["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert stream[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == plain["usage"]["output_tokens"]
