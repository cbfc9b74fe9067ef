"""Settings a client gives in headers reach Bedrock as the client's SDK sends them to Bedrock itself.

- InvokeModel's latency-optimized inference (boto3's `performanceConfigLatency`, the
  X-Amzn-Bedrock-PerformanceConfig-Latency header): Bedrock is asked for it, and its echo reaches boto3, on the
  call and on its stream (it was dropped: the client asked for `optimized` and silently got `standard`). It is
  charged at the standard price (no latency-optimized prices are configured).
- Anthropic's count_tokens with an anthropic-beta header: Bedrock's CountTokens counts the InvokeModel body the
  same request to /v1/messages sends, betas included (the header was ignored), and the betas the gateway drops
  from /v1/messages (not on its allowlist) are dropped from the count too.
"""

import base64
import json
from decimal import Decimal

import pytest
import requests
from botocore.exceptions import ClientError

from tests.e2e.clients import bedrock_runtime, last_sent

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HI = [{"role": "user", "content": "hi"}]
INVOKE_BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": HI})
LATENCY = "x-amzn-bedrock-performanceconfig-latency"


def test_invoke_model_asks_bedrock_for_the_latency_the_client_asked_for(stack):
    answer = bedrock_runtime(stack).invoke_model(modelId=HAIKU, body=INVOKE_BODY, performanceConfigLatency="optimized")
    assert last_sent(stack)["headers"][LATENCY] == "optimized"
    assert answer["performanceConfigLatency"] == "optimized"   # Bedrock's echo, as boto3 reads it
    assert json.loads(answer["body"].read())["content"][0]["text"]


def test_a_streamed_invoke_model_asks_for_it_too(stack):
    answer = bedrock_runtime(stack).invoke_model_with_response_stream(modelId=HAIKU, body=INVOKE_BODY,
                                                                      performanceConfigLatency="optimized")
    events = [json.loads(e["chunk"]["bytes"]) for e in answer["body"]]
    assert events[-1]["type"] == "message_stop"
    assert last_sent(stack)["headers"][LATENCY] == "optimized"
    assert answer["performanceConfigLatency"] == "optimized"


def test_converse_keeps_its_performance_config_and_gets_bedrocks_echo(stack):
    runtime = bedrock_runtime(stack)
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    answer = runtime.converse(modelId=HAIKU, messages=messages, performanceConfig={"latency": "optimized"})
    assert last_sent(stack)["body"]["performanceConfig"] == {"latency": "optimized"}
    assert answer["performanceConfig"] == {"latency": "optimized"}
    events = runtime.converse_stream(modelId=HAIKU, messages=messages, performanceConfig={"latency": "optimized"})
    metadata = [e["metadata"] for e in events["stream"] if "metadata" in e]
    assert metadata[0]["performanceConfig"] == {"latency": "optimized"}


def test_a_latency_bedrock_does_not_know_is_bedrocks_validation_exception(stack):
    runtime = bedrock_runtime(stack)
    with pytest.raises(ClientError) as refused:
        runtime.invoke_model(modelId=HAIKU, body=INVOKE_BODY, performanceConfigLatency="turbo")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "performanceConfigLatency" in refused.value.response["Error"]["Message"]


def test_latency_optimized_calls_are_charged_the_standard_price(stack):
    def cost(**latency):
        r = requests.post(f"{stack.proxy_url}/model/{HAIKU}/invoke", data=INVOKE_BODY, timeout=30,
                          headers={"X-API-Key": "dev-developer-key", "Content-Type": "application/json", **latency})
        assert r.status_code == 200 and last_sent(stack)["headers"].get(LATENCY) == latency.get(LATENCY)
        return Decimal(r.headers["X-Token-Cost-USD"]), r.headers["X-Token-Usage-Total"]

    assert cost(**{LATENCY: "optimized"}) == cost()


def _counted_betas(stack):
    sent = last_sent(stack)
    assert sent["operation"] == "count-tokens"
    return json.loads(base64.b64decode(sent["body"]["input"]["invokeModel"]["body"])).get("anthropic_beta")


def _anthropic(stack, path, body, betas):
    return requests.post(stack.proxy_url + path, json={"model": "sonnet", "messages": HI, **body}, timeout=30,
                         headers={"X-API-Key": "dev-developer-key", "anthropic-version": "2023-06-01",
                                  "anthropic-beta": betas})


@pytest.mark.parametrize("betas", ["context-1m-2025-08-07", "token-efficient-tools-2025-02-19,context-1m-2025-08-07"])
def test_count_tokens_counts_with_the_betas_messages_would_send(stack, betas):
    counted = _anthropic(stack, "/v1/messages/count_tokens", {}, betas)
    assert counted.status_code == 200 and counted.json()["input_tokens"] > 0
    in_count = _counted_betas(stack)
    assert _anthropic(stack, "/v1/messages", {"max_tokens": 8}, betas).status_code == 200
    assert in_count == last_sent(stack)["body"]["anthropic_beta"] == betas.split(",")


def test_count_tokens_drops_the_betas_messages_drops_and_merges_the_bodys_own(stack):
    counted = _anthropic(stack, "/v1/messages/count_tokens", {"anthropic_beta": ["interleaved-thinking-2025-05-14"]},
                         "context-1m-2025-08-07, not-a-beta-bedrock-knows")
    assert counted.status_code == 200
    assert _counted_betas(stack) == ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]
