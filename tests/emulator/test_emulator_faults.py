"""Fault injection as seen by boto3: error codes, resets, broken and failing streams."""

from __future__ import annotations

import json
import time

import pytest
import requests
from botocore.eventstream import ChecksumMismatch
from botocore.exceptions import ClientError, ConnectionClosedError, EventStreamError
from emulator_helpers import HAIKU_3, SONNET_45, claude_body, decode_stream
from urllib3.exceptions import ProtocolError

from kong_plugins.emulator.faults import HTTP_FAULTS

BODY = json.dumps(claude_body())
CONVERSE_MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


@pytest.mark.parametrize("fault, status, code", [
    ("throttle", 429, "ThrottlingException"),
    ("internal", 500, "InternalServerException"),
    ("unavailable", 503, "ServiceUnavailableException"),
    ("model_timeout", 408, "ModelTimeoutException"),
    ("model_not_ready", 429, "ModelNotReadyException"),
    ("access_denied", 403, "AccessDeniedException"),
    ("validation", 400, "ValidationException"),
    ("quota", 400, "ServiceQuotaExceededException"),
])
def test_http_faults(emulator, client, fault: str, status: int, code: str) -> None:
    emulator.add_fault(fault)
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=SONNET_45, body=BODY)
    error = exc.value.response
    assert error["Error"]["Code"] == code
    assert error["Error"]["Message"] == HTTP_FAULTS[fault][2]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == \
        f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    client.invoke_model(modelId=SONNET_45, body=BODY)  # count defaults to 1
    assert emulator.stats()["operations"]["invoke"] == {str(status): 1, "200": 1}


def test_throttle_message_and_streaming_op(emulator, client) -> None:
    emulator.add_fault("throttle", operation="converse-stream")
    client.converse(modelId=SONNET_45, messages=CONVERSE_MESSAGES)  # other operation: unaffected
    with pytest.raises(ClientError) as exc:
        client.converse_stream(modelId=SONNET_45, messages=CONVERSE_MESSAGES)
    assert exc.value.response["Error"]["Message"] == "Too many requests, please wait before trying again."


def test_count_model_filter_and_until_cleared(emulator, client) -> None:
    emulator.add_fault("internal", model="claude-3-haiku", count=-1)
    client.invoke_model(modelId=SONNET_45, body=BODY)
    for _ in range(3):
        with pytest.raises(ClientError):
            client.invoke_model(modelId=HAIKU_3, body=BODY)
    emulator.clear_faults()
    client.invoke_model(modelId=HAIKU_3, body=BODY)
    emulator.add_fault("throttle", count=2)
    outcomes = []
    for _ in range(3):
        try:
            client.invoke_model(modelId=SONNET_45, body=BODY)
            outcomes.append("ok")
        except ClientError:
            outcomes.append("err")
    assert outcomes == ["err", "err", "ok"]


def test_slow_fault_delays_then_answers(emulator, client) -> None:
    emulator.add_fault("slow", delay_s=0.3)
    started = time.monotonic()
    client.invoke_model(modelId=SONNET_45, body=BODY)
    assert time.monotonic() - started >= 0.25


def test_reset_closes_without_response(emulator, client) -> None:
    emulator.add_fault("reset")
    with pytest.raises(ConnectionClosedError):
        client.invoke_model(modelId=SONNET_45, body=BODY)
    client.invoke_model(modelId=SONNET_45, body=BODY)


@pytest.mark.parametrize("exception", ["throttlingException", "modelStreamErrorException",
                                       "internalServerException"])
def test_stream_exception_invoke(emulator, client, exception: str) -> None:
    emulator.add_fault("stream_exception", exception=exception, after_events=3)
    response = client.invoke_model_with_response_stream(modelId=SONNET_45, body=BODY)
    received = []
    with pytest.raises(EventStreamError) as exc:
        for event in response["body"]:
            received.append(json.loads(event["chunk"]["bytes"])["type"])
    assert received == ["message_start", "content_block_start", "content_block_delta"]
    assert exc.value.response["Error"]["Code"] == exception


def test_stream_exception_converse(emulator, client) -> None:
    emulator.add_fault("stream_exception", exception="modelStreamErrorException", after_events=2)
    response = client.converse_stream(modelId=SONNET_45, messages=CONVERSE_MESSAGES)
    with pytest.raises(EventStreamError) as exc:
        list(response["stream"])
    assert exc.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_stream_faults_skip_non_streaming_operations(emulator, client) -> None:
    emulator.add_fault("stream_exception")
    client.invoke_model(modelId=SONNET_45, body=BODY)
    client.converse(modelId=SONNET_45, messages=CONVERSE_MESSAGES)
    with pytest.raises(EventStreamError):
        decode_stream(client.invoke_model_with_response_stream(modelId=SONNET_45, body=BODY))


def test_stream_reset(emulator, client) -> None:
    emulator.add_fault("stream_reset", after_events=4)
    response = client.invoke_model_with_response_stream(modelId=SONNET_45, body=BODY)
    received = 0
    with pytest.raises((ProtocolError, ConnectionClosedError, ConnectionError)):
        for _ in response["body"]:
            received += 1
    assert received == 4


def test_malformed_frame(emulator, client) -> None:
    emulator.add_fault("malformed_frame", after_events=2)
    response = client.invoke_model_with_response_stream(modelId=SONNET_45, body=BODY)
    received = 0
    with pytest.raises(ChecksumMismatch):
        for _ in response["body"]:
            received += 1
    assert received == 2


def test_fault_rules_via_control_api(emulator, client) -> None:
    base = f"{emulator.url}/_emulator/faults"
    assert requests.post(base, json={"type": "nope"}, timeout=5).status_code == 400
    assert requests.post(base, json={"type": "stream_reset", "operation": "invoke"}, timeout=5).status_code == 400
    first = requests.post(base, json={"type": "throttle", "count": 5}, timeout=5).json()
    second = requests.post(base, json={"type": "internal"}, timeout=5).json()
    assert second["id"] == first["id"] + 1
    assert [r["type"] for r in requests.get(base, timeout=5).json()] == ["throttle", "internal"]
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=SONNET_45, body=BODY)
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"  # rules apply in order
    assert requests.delete(base, timeout=5).status_code == 200
    client.invoke_model(modelId=SONNET_45, body=BODY)
