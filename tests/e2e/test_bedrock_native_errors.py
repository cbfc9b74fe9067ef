"""Bedrock's failures as boto3's bedrock-runtime client sees them through the gateway: the exception class,
status and request id Bedrock itself would give the SDK."""

import json

import pytest

from tests.e2e.clients import bedrock_runtime, metric, request_line, sent
from tests.stack import GatewayStack

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Hi"}]}]


def test_a_failed_call_names_bedrocks_request_id_as_bedrock_does(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "internal", "count": -1})
    client = bedrock_runtime(stack)
    with pytest.raises(client.exceptions.InternalServerException) as failed:
        client.converse(modelId=SONNET, messages=MESSAGES)
    metadata = failed.value.response["ResponseMetadata"]
    logged = request_line(stack, metadata["HTTPHeaders"]["x-kong-request-id"])
    assert metadata.get("RequestId") == logged["bedrock_request_id"] and logged["bedrock_request_id"]
    assert "x-bedrock-request-id" not in metadata["HTTPHeaders"]


OPUS_4_7 = "anthropic.claude-opus-4-7"
BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "messages": [{"role": "user", "content": "Hi"}]}


def test_a_model_only_mantle_serves_is_the_callers_400_not_an_alert_and_another_model(stack):
    client = bedrock_runtime(stack, "dev-admin-key")
    before = metric(stack, 'kong_bedrock_model_misconfigured_total{model="opus-4-7"}')
    calls = [lambda: client.invoke_model(modelId=OPUS_4_7, body=json.dumps(BODY)),
             lambda: client.invoke_model_with_response_stream(modelId=OPUS_4_7, body=json.dumps(BODY)),
             lambda: client.converse(modelId=OPUS_4_7, messages=MESSAGES),
             lambda: client.converse_stream(modelId=OPUS_4_7, messages=MESSAGES),
             lambda: client.count_tokens(modelId=OPUS_4_7, input={"converse": {"messages": MESSAGES}})]
    for call in calls:
        with pytest.raises(client.exceptions.ValidationException) as refused:
            call()
        assert "/v1/messages" in refused.value.response["Error"]["Message"]
    assert sent(stack) == []   # neither Bedrock Runtime nor a fallback model was called
    assert metric(stack, 'kong_bedrock_model_misconfigured_total{model="opus-4-7"}') == before


@pytest.fixture(scope="module")
def titan_first():
    """opus falls back to titan (a Converse model), then sonnet."""
    with GatewayStack(model_overrides={"opus": {"fallbacks": ["titan", "sonnet"]}}) as running:
        yield running


def test_a_native_fallback_is_one_that_takes_the_clients_body(titan_first):
    titan_first.emulator_control("DELETE", "/_emulator/requests")
    titan_first.emulator_control("POST", "/_emulator/faults",
                                 json={"type": "throttle", "count": -1, "model": "claude-opus"})
    client = bedrock_runtime(titan_first, "dev-admin-key")
    out = client.invoke_model(modelId="us.anthropic.claude-opus-4-5-20251101-v1:0", body=json.dumps(BODY))
    assert json.loads(out["body"].read())["type"] == "message"   # sonnet took the Anthropic body
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-bedrock-model"] == "sonnet"
    assert "titan" not in " ".join(call["model_id"] for call in sent(titan_first))
    out = client.converse(modelId="us.anthropic.claude-opus-4-5-20251101-v1:0", messages=MESSAGES)
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-bedrock-model"] == "titan"   # Converse is one format for all


@pytest.mark.parametrize("fault, error_type, status", [
    ("model_error", "ModelErrorException", 424),
    ("quota", "ServiceQuotaExceededException", 400),
    ("model_not_ready", "ModelNotReadyException", 429),
    ("throttle", "ThrottlingException", 429),
    ("internal", "InternalServerException", 500),
    ("unavailable", "ServiceUnavailableException", 503),
])
def test_boto3_raises_the_class_bedrock_itself_would(stack, fault, error_type, status):
    """On the haiku id (no fallback in the shipped catalogue) a failure is Bedrock's own, as its SDK knows it:
    a handler for ModelErrorException or ServiceQuotaExceededException catches it, and boto3 retries (or not)
    as it would against Bedrock."""
    stack.emulator_control("POST", "/_emulator/faults", json={"type": fault, "count": -1})
    client = bedrock_runtime(stack, "dev-admin-key")
    with pytest.raises(getattr(client.exceptions, error_type)) as failed:
        client.converse(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0", messages=MESSAGES)
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert failed.value.response["Error"]["Message"]
