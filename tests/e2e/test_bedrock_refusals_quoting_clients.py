"""A security review's findings on how Bedrock's refusals of a client's request are told apart from the gateway's own
misconfiguration, through the whole stack (boto3 and the OpenAI SDK as clients, the emulator as Bedrock).

Bedrock's refusal of a body quotes the client's keys and values ("Malformed input request: #: extraneous key [...]");
a client that wrote "inference profile" there was taken for a model id Bedrock refuses: its text (a card number)
was logged in the operators' model_misconfigured line, their critical alert counted it, the fallback model was
called with the same body, and the client got a 502 that its SDK retries.
"""

import json

import botocore.exceptions
import openai
import pytest
import requests

from tests.e2e.clients import bedrock_runtime, metric, oa, sent

CARD = "4111111111111111"          # Luhn-valid: a card number, where the guardrails do not look (a JSON key)
CANARY = "zebra-canary-5d1f"
ASK = [{"role": "user", "content": [{"text": "hi"}]}]


def invoke_body(**extra):
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8,
                       "messages": [{"role": "user", "content": "hi"}], **extra})


def misconfigured(stack):
    return sum(metric(stack, f'kong_bedrock_model_misconfigured_total{{model="{m}"}}') for m in ("sonnet", "haiku"))


def logged(stack):
    return "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("body", [
    invoke_body(**{f"inference profile {CARD} {CANARY}": 1}),                 # a key Bedrock's message quotes
    invoke_body(anthropic_version=f"The provided model identifier is invalid {CARD} {CANARY}"),   # a value it quotes
], ids=["key", "value"])
def test_a_client_quoting_bedrocks_words_for_a_bad_model_id_gets_its_own_400_and_nothing_is_logged(stack, body):
    before = misconfigured(stack)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        bedrock_runtime(stack).invoke_model(modelId="sonnet", body=body)   # sonnet falls back to haiku
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400 and error["Error"]["Code"] == "ValidationException"
    assert [r["model_id"] for r in sent(stack)] == ["us.anthropic.claude-sonnet-4-5-20250929-v1:0"]   # no fallback
    stack.harness.wait_for_log(error["ResponseMetadata"]["HTTPHeaders"]["x-kong-request-id"], 10)
    assert misconfigured(stack) == before
    assert CARD not in logged(stack) and CANARY not in logged(stack)
    assert '"event":"model_misconfigured"' not in logged(stack)


@pytest.mark.timeout(60)
def test_request_metadata_nested_past_the_parsers_depth_is_a_400_not_a_failed_check(stack):
    """X-Amzn-Bedrock-Request-Metadata is the client's: nested 3,000 deep it was a RecursionError in bedrock-proxy,
    answered 503 ServiceUnavailableException (with Retry-After: 1, which the AWS SDKs retry)."""
    r = requests.post(stack.proxy_url + "/model/haiku/invoke", data=invoke_body(), timeout=15,
                      headers={"X-API-Key": "dev-developer-key", "Content-Type": "application/json",
                               "X-Amzn-Bedrock-Request-Metadata": "[" * 3000 + "]" * 3000})
    assert r.status_code == 400 and r.headers["x-amzn-ErrorType"] == "ValidationException"
    assert "X-Amzn-Bedrock-Request-Metadata" in r.json()["message"] and "Retry-After" not in r.headers
    assert sent(stack) == []


