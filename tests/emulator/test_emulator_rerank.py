"""Cohere Rerank 3.5 on InvokeModel: answer, ordering, top_n, truncation, validation, refusals."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from emulator_helpers import assert_throttled_then_served, client_error, malformed

from kong_plugins.emulator.models import CATALOGUE

RERANK = "cohere.rerank-v3-5:0"
QUERY = "capital of the United States"  # 5 distinct words
# Documents sharing 3, 0, 5, 1, 4 and 2 of the query's words, in that order.
DOCUMENTS = [
    "Carson City is the capital city of Nevada.",
    "Bananas grow on trees.",
    "Washington is the capital of the United States.",
    "Bananas grow in the tropics.",
    "Ottawa is the capital of Canada, north of the states.",
    "Saipan lies in the Pacific, far from the states.",
]
HITS = [3, 0, 5, 1, 4, 2]
RANKING = [2, 4, 0, 5, 3, 1]
FILLER = "lorem " * 3000  # 18,000 bytes: 4,500 tokens, past the 4,096 of a document and of the context
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


def rerank_body(query: Any = QUERY, documents: Any = None, **extra: Any) -> dict[str, Any]:
    return {"query": query, "documents": DOCUMENTS if documents is None else documents, "api_version": 2, **extra}


def ranked(invoke, body: dict[str, Any]) -> list[dict[str, Any]]:
    return invoke(body, model=RERANK)["json"]["results"]


def refusal(call: Any, **kwargs: Any) -> str:
    """The message of the ValidationException (HTTP 400) a boto3 call is expected to raise."""
    error = client_error(call, **kwargs)
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationException", 400)
    return error["Error"]["Message"]


def scores_by_index(results: list[dict[str, Any]]) -> list[float]:
    return [item["relevance_score"] for item in sorted(results, key=lambda item: item["index"])]


def band(hits: int, words: int) -> tuple[float, float]:
    """Where a score with ``hits`` of the query's ``words`` words lies: [hits, hits + 1/2) / (words + 1)."""
    return hits / (words + 1), (hits + 0.5) / (words + 1)


def test_answer_shape_and_headers(invoke) -> None:
    result = invoke(rerank_body(), model=RERANK)
    output, headers = result["json"], result["headers"]
    assert list(output) == ["id", "results", "meta"]
    assert str(uuid.UUID(output["id"])) == output["id"]
    assert output["meta"] == {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
    assert all(list(item) == ["index", "relevance_score"] for item in output["results"])
    assert all(isinstance(item["relevance_score"], float) for item in output["results"])
    assert headers["content-type"] == "application/json" and headers["x-amzn-requestid"]
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert headers["x-amzn-bedrock-service-tier"] == "default"
    assert "x-amzn-bedrock-input-token-count" not in headers
    assert "x-amzn-bedrock-output-token-count" not in headers


def test_documents_rank_by_the_query_words_they_share(invoke) -> None:
    results = ranked(invoke, rerank_body())
    assert [item["index"] for item in results] == RANKING
    for item in results:
        low, high = band(HITS[item["index"]], 5)
        assert low <= item["relevance_score"] < high, item
    scores = [item["relevance_score"] for item in results]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] and scores[0] < 1


def test_words_match_whatever_their_case_and_order(invoke) -> None:
    shouted = ranked(invoke, rerank_body("STATES, United: the capital OF?"))
    assert [item["index"] for item in shouted] == RANKING


def test_same_request_same_scores_and_a_fresh_id(invoke) -> None:
    first, again = invoke(rerank_body(), model=RERANK)["json"], invoke(rerank_body(), model=RERANK)["json"]
    assert first["results"] == again["results"] and first["id"] != again["id"]


def test_equal_shares_still_order_deterministically(invoke) -> None:
    body = rerank_body("zebra", ["apple", "banana", "cherry", "date", "elderberry"])
    results = ranked(invoke, body)
    scores = [item["relevance_score"] for item in results]
    assert len(set(scores)) == 5 and all(0 <= score < band(0, 1)[1] for score in scores)
    assert [item["index"] for item in results] != [0, 1, 2, 3, 4]  # the hash orders them, not their position
    assert ranked(invoke, body) == results
    changed = ranked(invoke, rerank_body("zebra", ["apple", "banana", "cherry", "date", "fig"]))
    assert scores_by_index(changed)[:4] == scores_by_index(results)[:4]  # each document its own score
    assert scores_by_index(changed)[4] != scores_by_index(results)[4]


@pytest.mark.parametrize("top_n, count", [(1, 1), (3, 3), (6, 6), (50, 6)])
def test_top_n_keeps_the_best(invoke, top_n: int, count: int) -> None:
    results = ranked(invoke, rerank_body(top_n=top_n))
    assert [item["index"] for item in results] == RANKING[:count]


def test_documents_are_truncated_to_max_tokens_per_doc(invoke) -> None:
    far = FILLER + "zebra"  # the word stands past the 4,096 tokens a document keeps by default
    low, high = band(1, 1)
    assert ranked(invoke, rerank_body("zebra", [far]))[0]["relevance_score"] < low
    assert low <= ranked(invoke, rerank_body("zebra", [far], max_tokens_per_doc=8192))[0]["relevance_score"] < high
    near = ["zebra crossing"]
    assert ranked(invoke, rerank_body("zebra", near, max_tokens_per_doc=1))[0]["relevance_score"] < low
    assert ranked(invoke, rerank_body("zebra", near, max_tokens_per_doc=2))[0]["relevance_score"] >= low


def test_a_long_document_scores_as_its_best_chunk(invoke) -> None:
    apart, together = "alpha " + FILLER + "omega", "alpha omega " + FILLER
    scores = scores_by_index(ranked(invoke, rerank_body("alpha omega", [apart, together], max_tokens_per_doc=8192)))
    assert band(1, 2)[0] <= scores[0] < band(1, 2)[1]  # each word in its own chunk: one at a time
    assert band(2, 2)[0] <= scores[1] < band(2, 2)[1]


@pytest.mark.parametrize("count, units", [(1, 1), (100, 1), (101, 2), (1000, 10)])
def test_search_units_count_hundreds_of_documents(invoke, count: int, units: int) -> None:
    output = invoke(rerank_body(documents=[f"document {i}" for i in range(count)]), model=RERANK)["json"]
    assert output["meta"]["billed_units"] == {"search_units": units}
    assert sorted(item["index"] for item in output["results"]) == list(range(count))


def test_a_query_of_2048_tokens_at_most(client, invoke) -> None:
    assert len(ranked(invoke, rerank_body("q" * 8192))) == len(DOCUMENTS)
    too_long = json.dumps(rerank_body("q" * 8193))
    assert refusal(client.invoke_model, modelId=RERANK, body=too_long) == "Input is too long for requested model."


def _without(key: str) -> dict[str, Any]:
    body = rerank_body()
    del body[key]
    return body


SCHEMA_ERRORS = [
    (["x"], "#: expected type: JSONObject, found: JSONArray"),
    (rerank_body(return_documents=True), "#: extraneous key [return_documents] is not permitted"),
    (rerank_body(rank_fields=["text"]), "#: extraneous key [rank_fields] is not permitted"),
    (rerank_body(model=RERANK), "#: extraneous key [model] is not permitted"),
    (_without("query"), "#: required key [query] not found"),
    (rerank_body(7), "#/query: expected type: String, found: Integer"),
    (rerank_body(""), "#/query: expected minLength: 1, actual: 0"),
    (_without("documents"), "#: required key [documents] not found"),
    (rerank_body(documents="a document"), "#/documents: expected type: JSONArray, found: String"),
    (rerank_body(documents=[]), "#/documents: expected minimum item count: 1, found: 0"),
    (rerank_body(documents=["d"] * 1001), "#/documents: expected maximum item count: 1000, found: 1001"),
    (rerank_body(documents=["a", {"text": "b"}]), "#/documents/1: expected type: String, found: JSONObject"),
    (rerank_body(documents=[None]), "#/documents/0: expected type: String, found: Null"),
    (rerank_body(top_n=0), "#/top_n: 0 is not greater or equal to 1"),
    (rerank_body(top_n="3"), "#/top_n: expected type: Integer, found: String"),
    (rerank_body(top_n=1.5), "#/top_n: expected type: Integer, found: Number"),
    (rerank_body(top_n=True), "#/top_n: expected type: Integer, found: Boolean"),
    (_without("api_version"), "#: required key [api_version] not found"),
    (rerank_body(api_version=1), "#/api_version: 1 is not greater or equal to 2"),
    (rerank_body(api_version=3), "#/api_version: 3 is not less or equal to 2"),
    (rerank_body(api_version="2"), "#/api_version: expected type: Integer, found: String"),
    (rerank_body(max_tokens_per_doc=0), "#/max_tokens_per_doc: 0 is not greater or equal to 1"),
    (rerank_body(max_tokens_per_doc=[512]), "#/max_tokens_per_doc: expected type: Integer, found: JSONArray"),
]


@pytest.mark.parametrize("body, detail", SCHEMA_ERRORS)
def test_schema_validation(client, body: Any, detail: str) -> None:
    assert refusal(client.invoke_model, modelId=RERANK, body=json.dumps(body)) == malformed(detail)


def test_limits_are_inclusive(invoke) -> None:
    body = rerank_body(documents=[""] + ["d"] * 999, top_n=1, max_tokens_per_doc=1)
    assert len(ranked(invoke, body)) == 1


NOT_A_CHAT_MODEL = ("This action doesn't support the model that you provided. "
                    "Try again with a supported text or chat model.")
REFUSED = {"invoke_model_with_response_stream": "The model is unsupported for streaming.",
           "converse": NOT_A_CHAT_MODEL, "converse_stream": NOT_A_CHAT_MODEL,
           "count_tokens": "The provided model doesn't support counting tokens."}
ARGUMENTS = {"invoke_model_with_response_stream": {"body": json.dumps(rerank_body())},
             "count_tokens": {"input": {"converse": {"messages": MESSAGES}}}}  # Converse's: {"messages": ...}


@pytest.mark.parametrize("operation", REFUSED)
def test_only_invoke_is_served(client, operation: str) -> None:
    kwargs = ARGUMENTS.get(operation, {"messages": MESSAGES})
    assert refusal(getattr(client, operation), modelId=RERANK, **kwargs) == REFUSED[operation]


@pytest.mark.parametrize("tier, message", [
    ("flex", "The provided service tier is not supported for this model."),
    ("priority", "The provided service tier is not supported for this model."),
    ("reserved", "Reservation not found."),
])
def test_the_standard_tier_only(client, tier: str, message: str) -> None:
    """The default tier is served and echoed (see test_answer_shape_and_headers); no other is offered."""
    assert refusal(client.invoke_model, modelId=RERANK, body=json.dumps(rerank_body()), serviceTier=tier) == message


def test_faults_apply_to_the_rerank_model(emulator, client) -> None:
    emulator.add_fault("throttle", model="rerank")
    body = json.dumps(rerank_body())
    assert_throttled_then_served(client, RERANK, body)


def test_catalogue_entry() -> None:
    info = CATALOGUE[RERANK]
    assert (info.family, info.profile_only, info.is_rerank, info.is_embedding, info.is_image, info.service_tiers) == (
        "cohere-rerank", False, True, False, False, ("default",))
    assert not (info.supports_tools or info.supports_count_tokens or info.supports_prompt_caching)
    assert {m.base_id for m in CATALOGUE.values() if m.is_rerank} == {RERANK}
    assert "amazon.rerank-v1:0" not in CATALOGUE
