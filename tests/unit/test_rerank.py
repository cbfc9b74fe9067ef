"""Cohere-format reranking: the request as a Bedrock Cohere Rerank body, its price, the planned call and the
answer, without Kong or Bedrock."""

import json
from decimal import Decimal

import pytest

from kong_plugins.context import Usage
from kong_plugins.formats import rerank
from kong_plugins.formats.api import ApiFormat, api_for_path
from kong_plugins.formats.body import RequestError
from kong_plugins.guardrails.segments import user_segments
from kong_plugins.metering.pricing import PriceTable
from kong_plugins.relay.responses import render_message
from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for

DOCS = ["Returns are free within 30 days.", "Shipping takes 2 days.", "Gift cards never expire."]


def parse(v2=True, **body):
    return rerank.parse_request(json.dumps(body).encode(), v2=v2)


def test_a_cohere_request_becomes_bedrocks_body():
    job, model = parse(model="rerank-v3.5", query="How do I return shoes?", documents=DOCS, top_n=2,
                       max_tokens_per_doc=512)
    assert model == "rerank-v3.5" and job.search_units == 1
    assert json.loads(job.body()) == {"query": "How do I return shoes?", "documents": DOCS, "top_n": 2,
                                      "api_version": 2, "max_tokens_per_doc": 512}
    job, _ = parse(query="q", documents=["d"] * 250)
    assert job.search_units == 3 and "top_n" not in json.loads(job.body())


def test_v1_objects_are_ranked_by_their_text_or_rank_fields():
    job, _ = parse(v2=False, query="q", documents=[{"text": "a", "id": "1"}, "b"], return_documents=True)
    assert job.documents == ("a", "b") and job.return_documents
    job, _ = parse(v2=False, query="q", documents=[{"title": "Hat", "body": "Wool"}], rank_fields=["title", "body"])
    assert job.documents == ("title: Hat\nbody: Wool",)


@pytest.mark.parametrize("v2, body, param, words", [
    (True, {"documents": ["a"]}, "query", "Field required"),
    (True, {"query": " ", "documents": ["a"]}, "query", "non-empty"),
    (True, {"query": "q"}, "documents", "non-empty list"),
    (True, {"query": "q", "documents": []}, "documents", "non-empty list"),
    (True, {"query": "q", "documents": ["a"] * 1001}, "documents", "at most 1000"),
    (True, {"query": "q", "documents": [{"text": "a"}]}, "documents", "must be a string."),
    (False, {"query": "q", "documents": [3]}, "documents", "a string or an object"),
    (False, {"query": "q", "documents": [{"title": "a"}]}, "documents", "string fields text"),
    (True, {"query": "q", "documents": ["a"], "top_n": 0}, "top_n", "positive integer"),
    (True, {"query": "q", "documents": ["a"], "top_n": "2"}, "top_n", "positive integer"),
    (True, {"query": "q", "documents": ["a"], "max_tokens_per_doc": True}, "max_tokens_per_doc", "positive"),
])
def test_bad_requests_name_the_field(v2, body, param, words):
    with pytest.raises(RequestError) as exc:
        parse(v2=v2, **body)
    assert exc.value.param == param and words in str(exc.value)


def test_search_units_are_priced_and_overridable():
    usage = Usage(search_units=3)
    assert PriceTable.from_config(None).for_model("cohere-rerank").cost_usd(usage) == Decimal("0.006")
    custom = PriceTable.from_config([{"model": "cohere-rerank", "input": 0, "output": 0, "search_unit": 0.001}])
    assert custom.for_model("cohere-rerank").cost_usd(usage) == Decimal("0.003")
    assert PriceTable.from_config(None).for_model("a-new-reranker").cost_usd(usage) == Decimal("0.006")


def test_decide_plans_one_call_in_the_models_region_and_reserves_its_units():
    ctx = ctx_for("analyst", {"model": "cohere-rerank", "query": "returns", "documents": DOCS * 50})
    assert PLUGIN.decide(ctx, "/v2/rerank") is None
    call = ctx.upstream
    assert (call.operation, call.model_id, call.region, call.api) == ("invoke", "cohere.rerank-v3-5:0", "us-west-2",
                                                                      ApiFormat.COHERE)
    assert not ctx.fallbacks and ctx.model == "cohere-rerank"
    assert ctx.upstream.billed_apiece.search_units == 2
    assert (ctx.planned_input, ctx.planned_output) == (0, 0)


@pytest.mark.parametrize("role, body, status, words", [
    ("analyst", {"query": "q", "documents": ["a"]}, 400, "model: required; rerank models your role may use: "
                                                         "cohere-rerank."),
    ("analyst", {"model": "haiku", "query": "q", "documents": ["a"]}, 400, "haiku is not a rerank model"),
    ("guest", {"model": "cohere-rerank", "query": "q", "documents": ["a"]}, 403, "may use these models: haiku"),
    ("analyst", {"model": "rerank-english-v2.0", "query": "q", "documents": ["a"]}, 404, "catalogue"),
])
def test_rerank_refusals_are_in_cohere_format(role, body, status, words):
    reply = PLUGIN.decide(ctx_for(role, body), "/v1/rerank")
    assert reply.status == status and words in reply.body["message"] and set(reply.body) == {"message"}


def test_the_answer_is_cohere_s_with_billed_units():
    ctx = ctx_for("analyst", {"model": "rerank-v3.5", "query": "q", "documents": [{"text": "x"}, "y"],
                              "return_documents": True})
    PLUGIN.decide(ctx, "/v1/rerank")
    content = json.dumps({"id": "r-1", "results": [{"index": 1, "relevance_score": 0.9},
                                                   {"index": 0, "relevance_score": 0.1}]}).encode()
    answer = json.loads(render_message(ctx.upstream, content, ctx))
    assert answer == {"id": "r-1", "results": [{"index": 1, "relevance_score": 0.9, "document": {"text": "y"}},
                                               {"index": 0, "relevance_score": 0.1, "document": {"text": "x"}}],
                      "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    assert ctx.usage == Usage(search_units=1)


@pytest.mark.parametrize("content", [b"{}", b'{"results": [{"index": 5, "relevance_score": 0.5}]}',
                                     b'{"results": [{"index": 0, "relevance_score": "high"}]}'])
def test_an_answer_it_cannot_read_is_refused(content):
    job, _ = parse(query="q", documents=["a"])
    with pytest.raises(ValueError):
        rerank.render(content, job)


def test_a_native_invoke_is_billed_from_its_documents():
    body = {"query": "q", "documents": ["a"] * 101, "api_version": 2}
    ctx = ctx_for("analyst", body)
    assert PLUGIN.decide(ctx, "/model/cohere.rerank-v3-5%3A0/invoke") is None
    assert ctx.upstream.billed_apiece.search_units == 2 and ctx.upstream.rerank.search_units == 2
    content = b'{"results": []}'
    assert render_message(ctx.upstream, content, ctx) == content and ctx.usage == Usage(search_units=2)


def test_guardrails_read_the_query_and_every_document():
    body = {"query": "card 4111", "documents": ["a", {"text": "b", "title": "c", "n": 1}]}
    assert [(s.path, s.text) for s in user_segments(body)] == [
        (("query",), "card 4111"), (("documents", 0), "a"), (("documents", 1, "text"), "b"),
        (("documents", 1, "title"), "c")]


def test_rerank_paths_speak_cohere():
    assert api_for_path("/v1/rerank") is api_for_path("/v2/rerank") is ApiFormat.COHERE
