"""Bedrock's failures as boto3's bedrock-runtime client sees them through the gateway: the exception class,
status and request id Bedrock itself would give the SDK."""

import pytest

from tests.e2e.clients import bedrock_runtime, request_line

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
