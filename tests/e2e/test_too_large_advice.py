"""A request no window could ever admit is told what to change: an embedding call has no max_tokens to lower."""

import json

import botocore.exceptions
import openai
import pytest

from tests.e2e.clients import bedrock_runtime
from tests.stack import GatewayStack


@pytest.fixture(scope="module")
def stack():
    limits = [{"role": "developer", "tokens_per_minute": 300, "monthly_budget_usd": 10},
              {"role": "analyst", "tokens_per_minute": 300}]
    with GatewayStack(config_overrides={"token-meter": {"limits": limits}}) as running:
        yield running


def _client(stack: GatewayStack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)


def test_an_embedding_too_large_for_the_minute_is_told_to_shorten_its_input(stack):
    with pytest.raises(openai.RateLimitError) as refused:
        _client(stack).embeddings.create(model="titan-embed", input="hello " * 300)
    message = refused.value.body["message"]
    assert "more than this API key's limit of 300 tokens a minute: shorten the input." in message
    assert "max_tokens" not in message and refused.value.response.headers["x-should-retry"] == "false"


def test_a_chat_too_large_for_the_minute_is_still_told_about_max_tokens(stack):
    with pytest.raises(openai.RateLimitError) as refused:
        _client(stack).chat.completions.create(model="haiku", max_tokens=400,
                                               messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["message"].endswith("shorten the prompt or lower max_tokens.")


def test_a_response_too_large_for_the_minute_is_told_about_max_output_tokens(stack):
    with pytest.raises(openai.RateLimitError) as refused:
        _client(stack).responses.create(model="haiku", max_output_tokens=400, input="hi")
    message = refused.value.body["message"]
    assert "its prompt, estimated, and max_output_tokens" in message
    assert message.endswith("shorten the prompt or lower max_output_tokens.")


def test_a_native_titan_call_is_told_about_its_own_cap_field(stack):
    """Titan's InvokeModel body caps its output with textGenerationConfig.maxTokenCount: advice to lower
    max_tokens named a field its body does not have."""
    body = {"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 400}}
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        bedrock_runtime(stack, "dev-analyst-key").invoke_model(modelId="amazon.titan-text-express-v1",
                                                               body=json.dumps(body))
    error = refused.value.response["Error"]
    assert error["Code"] == "ThrottlingException"
    assert error["Message"].endswith("shorten the prompt or lower textGenerationConfig.maxTokenCount.")


def test_a_native_converse_call_is_told_about_inference_config_max_tokens(stack):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        bedrock_runtime(stack).converse(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
                                        messages=[{"role": "user", "content": [{"text": "hi"}]}],
                                        inferenceConfig={"maxTokens": 400})
    assert refused.value.response["Error"]["Message"].endswith(
        "shorten the prompt or lower inferenceConfig.maxTokens.")
