"""boto3's bedrock-runtime client with endpoint_url at the gateway (as AWS SDK users
and Claude Code's Bedrock mode do): the gateway re-signs, streams pass through."""

import json

import pytest
import requests
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError

from tests.e2e.clients import bedrock_runtime, request_line

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40,
        "messages": [{"role": "user", "content": "Hello from boto3"}]}


@pytest.fixture()
def runtime(stack):
    return lambda key="dev-developer-key": bedrock_runtime(stack, key)


def test_invoke_model(runtime, stack):
    out = runtime().invoke_model(modelId=SONNET, body=json.dumps(BODY))
    message = json.loads(out["body"].read())
    assert message["type"] == "message" and message["content"][0]["text"]
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) == message["usage"]["input_tokens"]
    sent = stack.emulator_control("GET", "/_emulator/requests").json()[-1]
    assert sent["body"] == BODY and sent["model_id"] == SONNET


def test_invoke_model_with_response_stream(runtime):
    out = runtime().invoke_model_with_response_stream(modelId=SONNET, body=json.dumps(BODY))
    events = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert "amazon-bedrock-invocationMetrics" in events[-1]


def test_converse_and_converse_stream(runtime):
    messages = [{"role": "user", "content": [{"text": "Hello converse"}]}]
    out = runtime().converse(modelId=SONNET, messages=messages, inferenceConfig={"maxTokens": 30})
    assert out["output"]["message"]["content"][0]["text"] and out["usage"]["outputTokens"] > 0
    stream = runtime().converse_stream(modelId=SONNET, messages=messages, inferenceConfig={"maxTokens": 30})
    kinds = [next(iter(e)) for e in stream["stream"]]
    assert kinds[0] == "messageStart" and kinds[-1] == "metadata"


def test_count_tokens(runtime):
    out = runtime().count_tokens(modelId="anthropic.claude-sonnet-4-5-20250929-v1:0",
                                 input={"invokeModel": {"body": json.dumps(BODY).encode()}})
    assert out["inputTokens"] > 0


def test_native_errors(runtime):
    with pytest.raises(ClientError) as denied:
        runtime("dev-guest-key").invoke_model(modelId=SONNET, body=json.dumps(BODY))
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as bad:
        runtime().invoke_model(modelId=SONNET, body=b"not json")
    assert bad.value.response["Error"]["Code"] == "ValidationException"


def test_stream_bytes_are_valid_frames_end_to_end(stack):
    r = requests.post(f"{stack.proxy_url}/model/{SONNET}/invoke-with-response-stream", json=BODY, stream=True,
                      headers={"X-API-Key": "dev-developer-key"}, timeout=10)
    assert r.headers["Content-Type"] == "application/vnd.amazon.eventstream"
    frames = EventStreamBuffer()
    for chunk in r.iter_content(None):
        frames.add_data(chunk)
    assert [f.headers[":event-type"] for f in frames][-1] == "chunk"   # every CRC checked by botocore


def test_inference_profiles_for_claude_code(stack):
    r = requests.get(stack.proxy_url + "/inference-profiles?type=SYSTEM_DEFINED",
                     headers={"X-API-Key": "dev-developer-key"}, timeout=10)
    assert r.status_code == 200
    assert SONNET in {p["inferenceProfileId"] for p in r.json()["inferenceProfileSummaries"]}


def test_a_whole_titan_stream_is_charged_what_bedrock_reported_not_an_estimate(stack):
    """Titan's stream events are not Anthropic's (no message_stop), but it reports its usage: nothing to estimate."""
    r = requests.post(f"{stack.proxy_url}/model/amazon.titan-text-express-v1/invoke-with-response-stream",
                      headers={"X-API-Key": "dev-admin-key"}, timeout=30,
                      json={"inputText": "hello there", "textGenerationConfig": {"maxTokenCount": 50}})
    assert r.status_code == 200
    summary = request_line(stack, r.headers["X-Kong-Request-Id"])   # written after the response: polled
    assert summary["output_tokens"] > 0 and "usage_estimated" not in summary
