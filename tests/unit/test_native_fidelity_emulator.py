"""The emulator's Bedrock behaviours the native-fidelity tests lean on, as boto3 sees them against the emulator
alone: latency-optimized inference's echo and checks, streams opening with events that say nothing or failing with
a generic `:error-code` frame, and the count of connections that carried model calls."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from kong_plugins.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, EmulatorServer, EmulatorSettings

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16,
                   "messages": [{"role": "user", "content": "hi"}]})
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(EmulatorSettings(host="127.0.0.1", port=0)) as emu:
        yield emu


@pytest.fixture()
def runtime(emulator):
    emulator.reset()
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=emulator.url,
                        aws_access_key_id=DEFAULT_ACCESS_KEY_ID, aws_secret_access_key=DEFAULT_SECRET_ACCESS_KEY,
                        config=Config(retries={"total_max_attempts": 1}))


def test_invoke_model_echoes_the_latency_asked_for_and_only_then(runtime):
    assert runtime.invoke_model(modelId=HAIKU, body=BODY, performanceConfigLatency="optimized")[
        "performanceConfigLatency"] == "optimized"
    assert "performanceConfigLatency" not in runtime.invoke_model(modelId=HAIKU, body=BODY)
    stream = runtime.invoke_model_with_response_stream(modelId=HAIKU, body=BODY, performanceConfigLatency="standard")
    assert stream["performanceConfigLatency"] == "standard" and list(stream["body"])


def test_converse_echoes_it_in_its_body_and_its_streams_metadata(runtime):
    answer = runtime.converse(modelId=HAIKU, messages=MESSAGES, performanceConfig={"latency": "optimized"})
    assert answer["performanceConfig"] == {"latency": "optimized"}
    assert "performanceConfig" not in runtime.converse(modelId=HAIKU, messages=MESSAGES)
    events = runtime.converse_stream(modelId=HAIKU, messages=MESSAGES, performanceConfig={"latency": "optimized"})
    assert [e["metadata"] for e in events["stream"] if "metadata" in e][0]["performanceConfig"] == \
        {"latency": "optimized"}


@pytest.mark.parametrize("call", [
    lambda r: r.invoke_model(modelId=HAIKU, body=BODY, performanceConfigLatency="fast"),
    lambda r: r.converse(modelId=HAIKU, messages=MESSAGES, performanceConfig={"latency": "fast"}),
], ids=["invoke", "converse"])
def test_a_latency_outside_bedrocks_enum_is_a_validation_exception(runtime, call):
    with pytest.raises(ClientError) as refused:
        call(runtime)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Member must satisfy enum value set: [standard, optimized]" in refused.value.response["Error"]["Message"]


def test_a_stream_can_open_with_empty_events_then_fail_with_a_generic_error_frame(emulator, runtime):
    emulator.add_fault("stream_exception", after_events=0, empty_frames=2, error_code="NewException",
                       message="Something new.")
    events = runtime.invoke_model_with_response_stream(modelId=HAIKU, body=BODY)["body"]
    with pytest.raises(EventStreamError) as failed:
        list(events)
    assert failed.value.response["Error"] == {"Code": "NewException", "Message": "Something new."}


@pytest.mark.parametrize("spec, reason", [
    ({"error_code": 7}, "error_code must be a string"),
    ({"empty_frames": -1}, "empty_frames 0 to"),
    ({"empty_frames": 1.5}, "empty_frames must be an integer"),
])
def test_the_new_fault_fields_are_checked(emulator, spec, reason):
    r = requests.post(emulator.url + "/_emulator/faults", json={"type": "stream_exception", **spec}, timeout=5)
    assert r.status_code == 400 and reason in r.json()["error"]


def test_connections_that_carried_model_calls_are_counted(emulator, runtime):
    for _ in range(3):
        runtime.invoke_model(modelId=HAIKU, body=BODY)["body"].read()   # one kept-alive connection
    requests.get(emulator.url + "/_emulator/health", timeout=5)   # the control API's are not counted
    assert requests.get(emulator.url + "/_emulator/connections", timeout=5).json() == {"opened": 1}
    assert emulator.connections_opened() == 1
