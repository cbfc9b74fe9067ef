"""OpenAI embeddings through the whole stack on Titan Text Embeddings V2, with the official SDK."""

import json
import math

import boto3
import openai
import pytest
from botocore.config import Config

from tests.e2e.clients import oa

TEXTS = ["red running shoes, size 42", "a blue cotton hat", "return policy for damaged parcels"]


def sent(stack):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if "titan-embed" in r["model_id"]]


def test_sdk_default_base64_gives_unit_vectors_in_order(stack):
    raw = oa(stack, "dev-analyst-key").embeddings.with_raw_response.create(model="titan-embed", input=TEXTS)
    result = raw.parse()
    assert [d.index for d in result.data] == [0, 1, 2] and result.model == "titan-embed"
    assert all(len(d.embedding) == 1024 and math.isclose(math.hypot(*d.embedding), 1.0, rel_tol=1e-4)
               for d in result.data)
    calls = sent(stack)
    assert sorted(c["body"]["inputText"] for c in calls) == sorted(TEXTS) and len(calls) == 3
    assert result.usage.prompt_tokens == result.usage.total_tokens == int(raw.headers["X-Token-Usage-Input"]) > 3
    assert float(raw.headers["X-Token-Cost-USD"]) == pytest.approx(result.usage.prompt_tokens * 0.02 / 1e6, abs=1e-6)
    assert raw.headers["X-Bedrock-Model"] == "titan-embed"


def test_each_vector_is_the_one_its_own_text_gets(stack):
    """Many texts run concurrently; the answer keeps the client's order."""
    texts = [f"product {i}: {word} sneakers" for i, word in enumerate(["green", "grey", "gold", "pink"] * 5)]
    client = oa(stack, "dev-ops-key")
    batch = client.embeddings.create(model="titan-embed", input=texts, dimensions=256, encoding_format="float")
    assert len(batch.data) == 20 and all(len(d.embedding) == 256 for d in batch.data)
    for i in (0, 7, 19):
        alone = client.embeddings.create(model="titan-embed", input=texts[i], dimensions=256, encoding_format="float")
        assert alone.data[0].embedding == pytest.approx(batch.data[i].embedding, abs=1e-6)
    assert batch.data[0].embedding != pytest.approx(batch.data[1].embedding, abs=1e-3)


def test_token_arrays_are_a_clear_400(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-analyst-key").embeddings.create(model="titan-embed", input=[[101, 2023, 102]])
    assert exc.value.body["param"] == "input" and "token arrays" in exc.value.message
    assert not sent(stack)


def test_a_dimension_bedrock_refuses_costs_one_call_not_one_per_text(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-analyst-key").embeddings.create(model="titan-embed", input=TEXTS, dimensions=300)
    assert exc.value.status_code == 400 and "Traceback" not in exc.value.message
    assert len(sent(stack)) == 1


def test_a_throttled_text_fails_the_whole_request_after_retries(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "throttle", "count": -1, "model": "titan-embed"})
    with pytest.raises(openai.RateLimitError) as exc:
        oa(stack, "dev-analyst-key").embeddings.create(model="titan-embed", input=TEXTS)
    assert exc.value.status_code == 429 and exc.value.body["type"] == "rate_limit_error"


def test_a_chat_model_on_embeddings_and_the_reverse_are_400s(stack):
    client = oa(stack, "dev-analyst-key")
    with pytest.raises(openai.BadRequestError) as exc:
        client.embeddings.create(model="haiku", input="hello")
    assert "not an embedding model" in exc.value.message and "titan-embed" in exc.value.message
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="titan-embed", messages=[{"role": "user", "content": "hi"}])
    assert "/v1/embeddings" in exc.value.message


def test_a_role_without_the_model_gets_403(stack):
    with pytest.raises(openai.PermissionDeniedError):
        oa(stack, "dev-guest-key").embeddings.create(model="titan-embed", input="hello")


def test_card_numbers_are_not_embedded(stack):
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack, "dev-ops-key").embeddings.create(
            model="titan-embed", input=["customer note", "card 4111 1111 1111 1111 exp 09/29"])
    assert exc.value.body["code"] == "content_blocked" and "payment_card" in exc.value.message
    assert not sent(stack)


def test_bedrock_native_invoke_on_titan_embed_is_metered_from_the_headers(stack):
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=stack.proxy_url,
                          aws_access_key_id="x", aws_secret_access_key="y",
                          config=Config(retries={"max_attempts": 1}))
    client.meta.events.register("before-send.bedrock-runtime.*",
                                lambda request, **_: request.headers.__setitem__("X-API-Key", "dev-analyst-key"))
    response = client.invoke_model(modelId="amazon.titan-embed-text-v2:0",
                                   body=json.dumps({"inputText": "a blue cotton hat", "dimensions": 512}))
    body = json.loads(response["body"].read())
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert len(body["embedding"]) == 512
    assert int(headers["x-token-usage-input"]) == body["inputTextTokenCount"] > 0
