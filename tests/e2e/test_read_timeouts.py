"""A call the gateway stops waiting for: the client's 504, and the call charged as planned, since Bedrock runs
on to its end and bills it."""

import json

import pytest
import requests
from botocore.exceptions import EventStreamError

from tests.e2e.clients import bedrock_runtime, request_line
from tests.stack import GatewayStack

HEADERS = {"X-API-Key": "dev-developer-key"}


def test_a_read_timeout_is_a_504_and_is_charged_as_planned():
    with GatewayStack(extra_start_args="--bedrock-read-timeout 0.5") as stack:
        def day_used():
            return requests.get(stack.proxy_url + "/v1/budget", headers=HEADERS,
                                timeout=15).json()["tokens_per_day"]["used"]

        before = day_used()
        stack.emulator_control("POST", "/_emulator/faults", json={"type": "slow", "delay_s": 1.5, "model": "haiku"})
        r = requests.post(stack.proxy_url + "/v1/chat/completions", headers=HEADERS, timeout=15, json={
            "model": "haiku", "max_tokens": 300, "messages": [{"role": "user", "content": "x" * 400}]})
        assert r.status_code == 504
        request_id = r.headers["X-Kong-Request-Id"]
        summary = request_line(stack, request_id)
        assert summary["error_type"] == "ReadTimeout" and summary["usage_estimated"] is True
        assert summary["output_tokens"] == 300 and summary["input_tokens"] >= 100   # max_tokens, the prompt estimate
        assert day_used() - before == summary["input_tokens"] + 300
        assert len(stack.emulator_control("GET", "/_emulator/requests").json()) == 1   # never retried
        metrics = requests.get(stack.metrics_url, timeout=5).text
        assert 'kong_bedrock_usage_estimated_total{error_type="ReadTimeout",model="haiku",role="developer"} 1.0' \
            in metrics


def test_a_stream_that_goes_silent_past_the_read_timeout_ends_as_a_timeout_in_each_format():
    """Mid-stream, the gateway stops waiting as before the first byte: a native InvokeModel stream ends with
    Bedrock's own modelTimeoutException (ConverseStream has none: its internalServerException), an Anthropic
    stream with a timeout_error event, and the request log says ReadTimeout (it said ReadTimeoutError, and the
    clients were told the stream broke off)."""
    stall = {"type": "stall", "after_events": 2, "delay_s": 2.0}
    with GatewayStack(extra_start_args="--bedrock-read-timeout 0.5",
                      config_overrides={"bedrock-proxy": {"stream_ping_seconds": 0}}) as stack:
        runtime = bedrock_runtime(stack)
        model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
        body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                           "messages": [{"role": "user", "content": "hi"}]})
        stack.emulator_control("POST", "/_emulator/faults", json=stall)
        with pytest.raises(EventStreamError) as invoke:
            list(runtime.invoke_model_with_response_stream(modelId=model, body=body)["body"])
        assert invoke.value.response["Error"]["Code"] == "modelTimeoutException"

        stack.emulator_control("POST", "/_emulator/faults", json=stall)
        events = runtime.converse_stream(modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        with pytest.raises(EventStreamError) as converse:
            list(events["stream"])
        assert converse.value.response["Error"]["Code"] == "internalServerException"

        stack.emulator_control("POST", "/_emulator/faults", json=stall)
        r = requests.post(stack.proxy_url + "/v1/messages", headers=HEADERS, timeout=15, json={
            "model": "haiku", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200
        last = r.text.strip().split("\n\n")[-1]
        assert last.startswith("event: error\n") and json.loads(last.split("data: ", 1)[1])["error"]["type"] \
            == "timeout_error"
        request_id = r.headers["X-Kong-Request-Id"]
        assert request_line(stack, request_id)["error_type"] == "ReadTimeout"
