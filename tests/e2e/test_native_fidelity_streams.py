"""Bedrock streams refused at their start, as boto3 (and the other SDKs) see them through the gateway.

- A refusal after events that say nothing (no payload) is still a refusal before anything reached the client:
  retried and fallen back like a first-frame refusal (it was passed on: boto3 raised it mid-stream, unretried,
  and an OpenAI client got a 502 "stream broke off").
- An error frame naming an error Bedrock models no HTTP status for (an unknown `:error-code`) reaches boto3 as
  Bedrock sends it: an EventStreamError (a ClientError) with that code, run once. It was a 502
  InternalServerException, which boto3's retries ran three times.
- A stream refused in its first frame leaves its kept-alive connection to the gateway's next attempt (it was
  closed: a new TCP/TLS connection per refused attempt under throttling).
"""

import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import EventStreamError

from tests.e2e.clients import bedrock_runtime, request_line, sent

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HI = [{"role": "user", "content": "hi"}]
INVOKE_BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": HI})
EMPTY_THEN_THROTTLED = {"type": "stream_exception", "exception": "throttlingException", "after_events": 0,
                        "empty_frames": 2}
UNKNOWN = {"type": "stream_exception", "after_events": 0, "error_code": "SomethingNewException",
           "message": "Something Bedrock added.", "count": -1}
GATEWAY_ATTEMPTS = 3


def _streams_sent(stack):
    return len([r for r in sent(stack) if r["operation"] in ("converse-stream", "invoke-with-response-stream")])


def _invoke_stream(runtime):
    chunks = [json.loads(e["chunk"]["bytes"]) for e in
              runtime.invoke_model_with_response_stream(modelId=HAIKU, body=INVOKE_BODY)["body"]]
    return "".join(c["delta"].get("text", "") for c in chunks if c["type"] == "content_block_delta")


def _converse_stream(runtime):
    events = runtime.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events["stream"]
                   if "contentBlockDelta" in e)


def _openai_chat(stack):
    r = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"},
                      json={"model": "haiku", "stream": True, "messages": HI}, timeout=30)
    assert r.status_code == 200, r.text
    chunks = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _retrying_runtime(stack):
    """boto3 with its standard retries on, as AWS SDK users run it."""
    runtime = boto3.client("bedrock-runtime", endpoint_url=stack.proxy_url, region_name="us-east-1",
                           aws_access_key_id="client-side-not-used", aws_secret_access_key="client-side-not-used",
                           config=Config(retries={"mode": "standard"}))
    runtime.meta.events.register("before-send.bedrock-runtime.*",
                                 lambda request, **_: request.headers.__setitem__("X-API-Key", "dev-developer-key"))
    return runtime


@pytest.mark.parametrize("client", [lambda s: _invoke_stream(bedrock_runtime(s)),
                                    lambda s: _converse_stream(bedrock_runtime(s)), _openai_chat],
                         ids=["boto3-invoke-stream", "boto3-converse-stream", "openai-chat"])
def test_a_throttle_after_events_that_say_nothing_is_retried_by_the_gateway(stack, client):
    stack.emulator_control("POST", "/_emulator/faults", json=EMPTY_THEN_THROTTLED)
    assert client(stack).startswith("Emulated")
    assert _streams_sent(stack) == 2


def test_throttled_after_empty_events_every_time_boto3_gets_bedrocks_throttling_exception(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={**EMPTY_THEN_THROTTLED, "count": -1})
    runtime = bedrock_runtime(stack)
    with pytest.raises(runtime.exceptions.ThrottlingException) as throttled:
        _invoke_stream(runtime)
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert _streams_sent(stack) == GATEWAY_ATTEMPTS


def test_an_unknown_error_code_in_the_first_frame_reaches_boto3_as_bedrocks_own_and_runs_once(stack):
    stack.emulator_control("POST", "/_emulator/faults", json=UNKNOWN)
    answer = _retrying_runtime(stack).invoke_model_with_response_stream(modelId=HAIKU, body=INVOKE_BODY)
    with pytest.raises(EventStreamError) as failed:
        list(answer["body"])
    assert failed.value.response["Error"] == {"Code": "SomethingNewException", "Message": "Something Bedrock added."}
    assert _streams_sent(stack) == 1


def test_an_unknown_error_code_in_the_first_frame_is_a_502_for_other_clients(stack):
    stack.emulator_control("POST", "/_emulator/faults", json=UNKNOWN)
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-developer-key"}, timeout=30,
                      json={"model": "haiku", "max_tokens": 8, "stream": True, "messages": HI})
    assert r.status_code == 502 and r.json()["error"]["type"] == "api_error"
    assert _streams_sent(stack) == 1


def test_an_error_frame_naming_a_bedrock_error_is_that_error(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={**UNKNOWN, "error_code": "ThrottlingException",
                                                              "count": 1})
    assert _converse_stream(bedrock_runtime(stack)).startswith("Emulated")
    assert _streams_sent(stack) == 2


def test_streams_refused_in_their_first_frame_reuse_the_gateways_connections(stack):
    runtime = bedrock_runtime(stack)
    assert _invoke_stream(runtime)   # the gateway holds a kept-alive connection
    opened = stack.emulator.connections_opened()
    stack.emulator_control("POST", "/_emulator/faults", json={**EMPTY_THEN_THROTTLED, "empty_frames": 0,
                                                              "count": -1})
    for _ in range(2):
        with pytest.raises(runtime.exceptions.ThrottlingException):
            _invoke_stream(runtime)
    assert _streams_sent(stack) == 1 + 2 * GATEWAY_ATTEMPTS
    assert stack.emulator.connections_opened() == opened


OPENING_EMPTY = {"type": "stall", "after_events": 1000, "delay_s": 0, "empty_frames": 1}
"""A healthy stream that opens with an event that says nothing (the stall is past its end: no other effect)."""


def test_a_stream_that_opens_with_an_empty_event_is_answered_and_metered_whole(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={**OPENING_EMPTY, "count": 2})
    assert _openai_chat(stack).startswith("Emulated")
    events = bedrock_runtime(stack).converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [
        {"text": "hi"}]}])
    kinds = [next(iter(e)) for e in events["stream"]]
    assert kinds[0] == "messageStart" and kinds[-1] == "metadata"
    logged = request_line(stack, events["ResponseMetadata"]["HTTPHeaders"]["x-kong-request-id"])
    assert (logged["status"], logged["output_tokens"]) == (200, 12) and "error_type" not in logged
    assert _streams_sent(stack) == 2
