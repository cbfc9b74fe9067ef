"""Cohere-format reranking through the whole stack on Cohere Rerank 3.5, with the official cohere SDK and boto3."""

import json

import cohere
import pytest

from tests.e2e.clients import bedrock_runtime, metric, metric_reaches, sent
from tests.stack import GatewayStack

QUERY = "how do I return damaged shoes"
DOCS = ["Gift cards never expire and can be used online.",
        "Damaged shoes can be returned within 30 days for a full refund.",
        "Standard shipping takes two to four working days.",
        "To return an item, print the label from your order page."]
UNITS_METRIC = 'kong_bedrock_rerank_search_units_total{model="cohere-rerank",role="%s"}'


def v2(stack, key="dev-analyst-key"):
    return cohere.ClientV2(api_key=key, base_url=stack.proxy_url, timeout=30)


def rerank_calls(stack):
    return [r for r in sent(stack) if "rerank" in r["model_id"]]


def test_v2_sdk_gets_documents_best_first_billed_per_search_unit(stack):
    before = metric(stack, UNITS_METRIC % "analyst")
    raw = v2(stack).with_raw_response.rerank(model="cohere-rerank", query=QUERY, documents=DOCS, top_n=2)
    result = raw.data
    assert [r.index for r in result.results][0] == 1 and len(result.results) == 2
    assert result.results[0].relevance_score >= result.results[1].relevance_score
    assert result.meta.billed_units.search_units == 1
    [call] = rerank_calls(stack)
    assert call["model_id"] == "cohere.rerank-v3-5:0" and call["operation"] == "invoke"
    assert call["body"] == {"query": QUERY, "documents": DOCS, "top_n": 2, "api_version": 2}
    assert raw.headers["x-token-cost-usd"] == "0.002000" and raw.headers["x-bedrock-model"] == "cohere-rerank"
    assert metric_reaches(stack, UNITS_METRIC % "analyst", before + 1)


def test_v1_sdk_returns_the_documents_it_was_given(stack):
    client = cohere.Client(api_key="dev-ops-key", base_url=stack.proxy_url, timeout=30)
    result = client.rerank(model="rerank-v3.5", query=QUERY, return_documents=True,
                           documents=[{"text": d} for d in DOCS])
    assert len(result.results) == 4 and result.results[0].document.text == DOCS[1]
    assert sorted(r.index for r in result.results) == [0, 1, 2, 3]


def test_many_documents_cost_one_unit_per_hundred(stack):
    docs = [f"{DOCS[i % 4]} (copy {i})" for i in range(250)]
    raw = v2(stack, "dev-developer-key").with_raw_response.rerank(model="cohere-rerank", query=QUERY,
                                                                  documents=docs, top_n=3)
    assert raw.data.meta.billed_units.search_units == 3 and raw.headers["x-token-cost-usd"] == "0.006000"


def test_a_card_number_in_a_document_is_blocked_before_bedrock(stack):
    with pytest.raises(cohere.errors.ForbiddenError) as exc:
        v2(stack).rerank(model="cohere-rerank", query=QUERY, documents=[*DOCS, "paid with 4111 1111 1111 1111"])
    assert "payment_card" in exc.value.body["message"] and "4111" not in json.dumps(exc.value.body)
    assert not rerank_calls(stack)


def test_refusals_are_cohere_errors(stack):
    with pytest.raises(cohere.errors.BadRequestError) as exc:
        v2(stack).rerank(model="haiku", query=QUERY, documents=DOCS)
    assert "not a rerank model" in exc.value.body["message"]
    with pytest.raises(cohere.errors.BadRequestError) as exc:
        v2(stack).rerank(model="cohere-rerank", query="", documents=DOCS)
    assert exc.value.body == {"message": "query: Field required (a non-empty string)."}
    with pytest.raises(cohere.errors.ForbiddenError):
        v2(stack, "dev-guest-key").rerank(model="cohere-rerank", query=QUERY, documents=DOCS)
    assert not rerank_calls(stack)


def test_bedrock_native_invoke_is_billed_from_its_documents(stack):
    body = {"query": QUERY, "documents": DOCS, "api_version": 2}
    response = bedrock_runtime(stack, "dev-analyst-key").invoke_model(modelId="cohere.rerank-v3-5:0",
                                                                      body=json.dumps(body))
    answer = json.loads(response["body"].read())
    assert answer["results"][0]["index"] == 1
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-token-cost-usd"] == "0.002000"


def test_the_monthly_budget_counts_search_units():
    overrides = {"token-meter": {"consumer_overrides": [{"consumer": "analyst-user", "monthly_budget_usd": 0.005}]}}
    with GatewayStack(config_overrides=overrides) as stack:
        client = v2(stack)
        once = {"max_retries": 0}   # the SDK would honour Retry-After: the start of next month
        with pytest.raises(cohere.errors.TooManyRequestsError):   # 300 documents: 3 units, $0.006 > $0.005
            client.rerank(model="cohere-rerank", query=QUERY, documents=DOCS * 75, request_options=once)
        assert not rerank_calls(stack)
        client.rerank(model="cohere-rerank", query=QUERY, documents=DOCS * 50)   # 2 units: $0.004
        with pytest.raises(cohere.errors.TooManyRequestsError) as exc:   # $0.002 more does not fit in $0.001
            client.rerank(model="cohere-rerank", query=QUERY, documents=DOCS, request_options=once)
        assert exc.value.body == {"message": "Monthly budget for this API key is spent."}
        assert len(rerank_calls(stack)) == 1
