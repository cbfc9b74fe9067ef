"""A model id Bedrock refuses came from the gateway's configuration, not from the client: a 502 in the
caller's format (not Bedrock's 400 or 404, which tells a client its request was wrong), the fallback chain
tried, and an error log line for the operators naming the entry and the id."""

import json

import anthropic
import botocore.exceptions
import openai
import pytest
import requests

from tests.e2e.clients import bedrock_runtime, metric, oa
from tests.stack import GatewayStack

TYPO = "us.anthropic.claude-sonnet-4-5-20250929-v9:0"          # no such model or profile
BASE_ID = "anthropic.claude-opus-4-5-20251101-v1:0"             # Bedrock takes it only through a profile


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(model_overrides={"sonnet": {"bedrock_id": TYPO}, "opus": {"bedrock_id": BASE_ID}}) as running:
        yield running


def misconfigured_lines(stack, start=0):
    lines = stack.harness.plugin_server_output("bedrock")[start:]
    return [json.loads(line[line.index("{"):]) for line in lines if '"model_misconfigured"' in line]


def test_a_refused_id_falls_back_and_the_operators_are_told(stack):
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    answer = claude.messages.with_raw_response.create(model="sonnet", max_tokens=16,
                                                      messages=[{"role": "user", "content": "hi"}])
    assert answer.status_code == 200
    assert answer.headers["X-Bedrock-Model"] == "haiku" and answer.headers["X-Bedrock-Fallback-From"] == "sonnet"
    told = misconfigured_lines(stack)
    assert [(t["level"], t["model"], t["model_id"]) for t in told] == [("error", "sonnet", TYPO)]
    assert told[0]["bedrock_message"] == "The provided model identifier is invalid."


def refusals(stack):
    """kong_bedrock_model_misconfigured_total of opus and sonnet, as Prometheus scrapes them."""
    return tuple(metric(stack, f'kong_bedrock_model_misconfigured_total{{model="{m}"}}') for m in ("opus", "sonnet"))


def test_with_nothing_left_to_try_it_is_a_502_in_the_callers_format(stack):
    start, counted = len(stack.harness.plugin_server_output("bedrock")), refusals(stack)
    ask = [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.InternalServerError) as claude_refused:     # opus -> sonnet: both refused
        anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0) \
            .messages.create(model="opus", max_tokens=16, messages=ask)
    assert claude_refused.value.status_code == 502
    assert claude_refused.value.body["error"]["type"] == "api_error"
    assert "gateway's configuration" in claude_refused.value.message
    with pytest.raises(openai.InternalServerError) as openai_refused:
        oa(stack, "dev-admin-key").chat.completions.create(model="opus", max_tokens=16, messages=ask)
    assert openai_refused.value.status_code == 502 and "gateway's configuration" in openai_refused.value.message
    with pytest.raises(botocore.exceptions.ClientError) as native_refused:
        bedrock_runtime(stack, "dev-admin-key").converse(modelId="claude-opus-4-5",
                                                         messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert native_refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    told = misconfigured_lines(stack, start)
    assert [(t["model"], t["model_id"]) for t in told] == [("opus", BASE_ID), ("sonnet", TYPO)] * 3
    assert "on-demand throughput isn't supported" in told[0]["bedrock_message"]
    assert [now - before for now, before in zip(refusals(stack), counted)] == [3, 3]


def test_a_bad_request_is_still_the_clients_400(stack):
    with pytest.raises(anthropic.BadRequestError) as refused:     # Bedrock's own check
        anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0).messages.create(
            model="haiku", max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 4000},
            messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 400 and "budget_tokens" in refused.value.message


def test_every_catalogue_model_has_its_refusal_series_from_the_start(stack):
    """At 0 before any refusal: Prometheus' increase() counts nothing on a series until its second sample, so
    the LLMGatewayModelMisconfigured alert missed a model's first refusals (found by an operations pass)."""
    anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0).messages.create(
        model="haiku", max_tokens=8, messages=[{"role": "user", "content": "hi"}])   # bedrock-proxy configured
    exposed = requests.get(stack.metrics_url, timeout=5).text
    for model in ("haiku", "gemini-flash", "titan-embed", "opus-4-7"):
        assert f'kong_bedrock_model_misconfigured_total{{model="{model}"}} 0.0' in exposed, model
