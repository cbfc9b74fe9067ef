"""A call the gateway stopped waiting for runs on at Bedrock and is billed: the real SDKs, with their default
retries, must not run it again. A Bedrock-native client sees Bedrock's own 408 ModelTimeoutException, which
botocore does not retry; OpenAI and Anthropic clients a 504 with `x-should-retry: false`."""

import boto3
import pytest
from botocore.config import Config

import anthropic
import openai
from tests.stack import GatewayStack

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
KEY = "dev-admin-key"


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(extra_start_args="--bedrock-read-timeout 0.5") as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(stack):
    stack.emulator_control("DELETE", "/_emulator/faults")
    stack.emulator_control("DELETE", "/_emulator/requests")


def _calls(stack):
    return len(stack.emulator_control("GET", "/_emulator/requests").json())


def _boto3(stack, mode):
    client = boto3.client("bedrock-runtime", endpoint_url=stack.proxy_url, region_name="us-east-1",
                          aws_access_key_id="client-side-not-used", aws_secret_access_key="client-side-not-used",
                          config=Config(retries={"mode": mode}))   # the SDK's own retries, as users run it
    client.meta.events.register("before-send.bedrock-runtime.*",
                                lambda request, **_: request.headers.__setitem__("X-API-Key", KEY))
    return client


@pytest.mark.parametrize("mode", ["standard", "legacy"])
def test_boto3_does_not_rerun_a_call_the_gateway_stopped_waiting_for(stack, mode):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "slow", "delay_s": 1.5, "count": -1})
    client = _boto3(stack, mode)
    with pytest.raises(client.exceptions.ModelTimeoutException) as timed_out:
        client.converse(modelId=SONNET, messages=[{"role": "user", "content": [{"text": "Hi"}]}])
    assert timed_out.value.response["ResponseMetadata"]["HTTPStatusCode"] == 408
    assert timed_out.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert _calls(stack) == 1


def test_boto3_sees_bedrocks_own_model_timeout_as_bedrock_sends_it(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "model_timeout", "count": -1})
    client = _boto3(stack, "standard")
    with pytest.raises(client.exceptions.ModelTimeoutException) as timed_out:
        client.converse(modelId=SONNET, messages=[{"role": "user", "content": [{"text": "Hi"}]}])
    assert timed_out.value.response["ResponseMetadata"]["HTTPStatusCode"] == 408
    assert _calls(stack) == 1


def test_openai_sdk_does_not_rerun_a_call_the_gateway_stopped_waiting_for(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "slow", "delay_s": 1.5, "count": -1})
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=KEY, max_retries=2)
    for stream in (False, True):
        with pytest.raises(openai.InternalServerError) as timed_out:
            client.chat.completions.create(model="sonnet", stream=stream,
                                           messages=[{"role": "user", "content": "Hi"}])
        assert timed_out.value.status_code == 504
    assert _calls(stack) == 2


def test_anthropic_sdk_does_not_rerun_a_call_the_gateway_stopped_waiting_for(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "slow", "delay_s": 1.5, "count": -1})
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key=KEY, max_retries=2)
    with pytest.raises(anthropic.APIStatusError) as timed_out:
        client.messages.create(model="sonnet", max_tokens=20, messages=[{"role": "user", "content": "Hi"}])
    assert timed_out.value.status_code == 504 and timed_out.value.body["error"]["type"] == "timeout_error"
    assert _calls(stack) == 1
