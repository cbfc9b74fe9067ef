"""Cohere Embed (v3 English and Multilingual, v4) on InvokeModel: shapes, input types, limits, refusals.

Against the real emulator with boto3, as the Titan embedding tests are.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

import pytest
from emulator_helpers import client_error, cosine, malformed, norm

from kong_plugins.emulator.cohere_embed import MSG_TEXT_TOO_LONG
from kong_plugins.emulator.embeddings import MSG_NO_STREAMING, MSG_NOT_A_CHAT_MODEL
from kong_plugins.emulator.errors import MSG_NO_COUNT_TOKENS
from kong_plugins.emulator.models import CATALOGUE, resolve_model
from kong_plugins.emulator.service_tiers import MSG_TIER_NOT_SUPPORTED

V3_EN = "cohere.embed-english-v3"
V3 = "cohere.embed-multilingual-v3"
V4 = "cohere.embed-v4:0"
V4_US = "us.cohere.embed-v4:0"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


def _tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / 4)


def _embed(invoke: Any, texts: list[str], model: str = V3, input_type: str = "search_document",
           **extra: Any) -> dict[str, Any]:
    return invoke({"texts": texts, "input_type": input_type, **extra}, model=model)


def _vectors(invoke: Any, texts: list[str], model: str = V3, **extra: Any) -> list[list[float]]:
    return _embed(invoke, texts, model, **extra)["json"]["embeddings"]


def _invoke_error(client: Any, body: Any, model: str = V3, **kwargs: Any) -> dict[str, Any]:
    return client_error(client.invoke_model, modelId=model, body=json.dumps(body), **kwargs)


@pytest.mark.parametrize("model", [V3_EN, V3])
def test_v3_gives_unit_1024_vectors_in_the_order_of_the_texts(invoke, model: str) -> None:
    texts = ["red running shoes", "Rückgabe eines beschädigten Pakets", "red running shoes"]
    result = _embed(invoke, texts, model)
    output, headers = result["json"], result["headers"]
    assert list(output) == ["id", "response_type", "embeddings", "texts"]
    assert str(uuid.UUID(output["id"])) == output["id"]
    assert output["response_type"] == "embeddings_floats" and output["texts"] == texts
    vectors = output["embeddings"]
    assert [len(v) for v in vectors] == [1024] * 3 and all(isinstance(x, float) for x in vectors[1])
    assert all(math.isclose(norm(v), 1.0) for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    assert _vectors(invoke, texts[1::-1], model) == vectors[1::-1]  # each text's own vector, in order
    assert headers["x-amzn-bedrock-input-token-count"] == str(sum(map(_tokens, texts)))
    assert headers["x-amzn-bedrock-output-token-count"] == "0"
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert headers["x-amzn-bedrock-service-tier"] == "default"
    assert headers["content-type"] == "application/json" and headers["x-amzn-requestid"]


def test_the_token_count_header_sums_each_texts_own_count(invoke) -> None:
    texts = ["a", "bc", "東京"]  # 1 + 1 + 2 tokens; the 9 bytes together would be 3
    assert _embed(invoke, texts)["headers"]["x-amzn-bedrock-input-token-count"] == "4"


def test_texts_sharing_words_are_closer_than_unrelated_ones(invoke) -> None:
    shoes, kids, parcel = _vectors(invoke, ["red running shoes", "red running shoes for kids",
                                            "quarterly revenue grew strongly in Europe"])
    assert cosine(shoes, kids) > 0.5 and abs(cosine(shoes, parcel)) < 0.2


def test_a_query_and_a_document_of_the_same_words_differ_but_stay_close(invoke) -> None:
    document = _vectors(invoke, ["red shoes"], input_type="search_document")[0]
    query, other = _vectors(invoke, ["red shoes", "parcel refund"], input_type="search_query")
    assert query != document and cosine(query, document) > 0.3 > abs(cosine(query, other))


def test_each_model_has_its_own_vectors_and_a_profile_embeds_as_its_model(invoke) -> None:
    text = ["the same words on every model"]
    english, multilingual = _vectors(invoke, text, V3_EN)[0], _vectors(invoke, text, V3)[0]
    v4 = _vectors(invoke, text, V4, output_dimension=1024)[0]
    assert max(abs(cosine(english, multilingual)), abs(cosine(english, v4)), abs(cosine(multilingual, v4))) < 0.2
    assert _vectors(invoke, text, V4_US) == _vectors(invoke, text, V4)


@pytest.mark.parametrize("dimensions", [256, 512, 1024, 1536, None])
def test_v4_dimensions_are_unit_length_prefixes_of_the_full_vector(invoke, dimensions: int | None) -> None:
    full = _vectors(invoke, ["hat", "cap"], V4, input_type="clustering")
    extra = {} if dimensions is None else {"output_dimension": dimensions}
    sized = _vectors(invoke, ["hat", "cap"], V4, input_type="clustering", **extra)
    size = dimensions or 1536
    assert [len(v) for v in full] == [1536, 1536] and [len(v) for v in sized] == [size, size]
    for short, long in zip(sized, full):
        assert math.isclose(norm(short), 1.0)
        assert short == pytest.approx([v / norm(long[:size]) for v in long[:size]], abs=1e-12)


def test_embedding_types_give_only_the_asked_types_in_the_asked_order(invoke) -> None:
    floats = _vectors(invoke, ["hat", "cap"], V4, output_dimension=256)
    asked = ["ubinary", "float", "int8", "uint8", "binary", "float"]
    output = _embed(invoke, ["hat", "cap"], V4, output_dimension=256, embedding_types=asked)["json"]
    assert output["response_type"] == "embeddings_by_type" and output["texts"] == ["hat", "cap"]
    by_type = output["embeddings"]
    assert list(by_type) == ["ubinary", "float", "int8", "uint8", "binary"] and by_type["float"] == floats
    for i, values in enumerate(floats):
        peak = max(map(abs, values))
        assert by_type["int8"][i] == [round(v / peak * 127) for v in values]
        assert max(map(abs, by_type["int8"][i])) == 127 and all(-128 <= x <= 127 for x in by_type["int8"][i])
        assert by_type["uint8"][i] == [x + 128 for x in by_type["int8"][i]]
        bits = "".join("1" if v > 0 else "0" for v in values)
        assert by_type["ubinary"][i] == [int(bits[j:j + 8], 2) for j in range(0, 256, 8)]
        assert by_type["binary"][i] == [x - 128 for x in by_type["ubinary"][i]]
    only = _embed(invoke, ["hat"], V3, embedding_types=["int8"])["json"]["embeddings"]
    assert list(only) == ["int8"] and len(only["int8"][0]) == 1024


@pytest.mark.parametrize("body, model, detail", [
    ({"texts": ["x"]}, V3, "#: required key [input_type] not found"),
    ({"input_type": "search_query"}, V3, "#: required key [texts] not found"),
    ({"texts": ["x"], "input_type": "search_query", "foo": 1}, V3, "#: extraneous key [foo] is not permitted"),
    ({"texts": ["x"], "input_type": "search_query", "images": []}, V4, "#: extraneous key [images] is not permitted"),
    ({"texts": ["x"], "input_type": "search_query", "output_dimension": 256}, V3,
     "#: extraneous key [output_dimension] is not permitted"),
    ({"texts": ["x"], "input_type": "search_query", "max_tokens": 100}, V3_EN,
     "#: extraneous key [max_tokens] is not permitted"),
    ("texts", V3, "#: expected type: JSONObject, found: String"),
    ({"texts": "x", "input_type": "search_query"}, V3, "#/texts: expected type: JSONArray, found: String"),
    ({"texts": [], "input_type": "search_query"}, V3, "#/texts: expected minimum item count: 1, found: 0"),
    ({"texts": ["x"] * 97, "input_type": "search_query"}, V3, "#/texts: expected maximum item count: 96, found: 97"),
    ({"texts": ["x", 3], "input_type": "search_query"}, V3, "#/texts/1: expected type: String, found: Integer"),
    ({"texts": ["x"], "input_type": "query"}, V3, "#/input_type: query is not a valid enum value"),
    ({"texts": ["x"], "input_type": None}, V3, "#/input_type: expected type: String, found: Null"),
    ({"texts": ["x"], "input_type": "search_query", "truncate": "MIDDLE"}, V3,
     "#/truncate: MIDDLE is not a valid enum value"),
    ({"texts": ["x"], "input_type": "search_query", "truncate": True}, V3,
     "#/truncate: expected type: String, found: Boolean"),
    ({"texts": ["x"], "input_type": "search_query", "embedding_types": "float"}, V3,
     "#/embedding_types: expected type: JSONArray, found: String"),
    ({"texts": ["x"], "input_type": "search_query", "embedding_types": ["float", "int4"]}, V3,
     "#/embedding_types/1: int4 is not a valid enum value"),
    ({"texts": ["x"], "input_type": "search_query", "embedding_types": [None]}, V3,
     "#/embedding_types/0: null is not a valid enum value"),
    ({"texts": ["x"], "input_type": "search_query", "output_dimension": 300}, V4,
     "#/output_dimension: 300 is not a valid enum value"),
    ({"texts": ["x"], "input_type": "search_query", "output_dimension": "256"}, V4_US,
     "#/output_dimension: expected type: Integer, found: String"),
    ({"texts": ["x"], "input_type": "search_query", "max_tokens": 1.5}, V4,
     "#/max_tokens: expected type: Integer, found: Number"),
    ({"texts": ["x"], "input_type": "search_query", "max_tokens": 0}, V4,
     "#/max_tokens: 0 is not greater or equal to 1"),
])
def test_schema_errors_in_bedrocks_words(client, body: Any, model: str, detail: str) -> None:
    error = _invoke_error(client, body, model)
    assert error["Error"] == {"Code": "ValidationException", "Message": malformed(detail)}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_text_over_512_tokens_is_refused_unless_truncated_from_either_end(client, invoke) -> None:
    at_limit = "x" * 2048  # 512 tokens
    assert _embed(invoke, [at_limit], truncate="NONE")["headers"]["x-amzn-bedrock-input-token-count"] == "512"
    long = "start " + "word " * 600 + "finish"
    for body in ({"texts": ["ok", long], "input_type": "search_document"},
                 {"texts": [at_limit + "y"], "input_type": "search_document", "truncate": "NONE"}):
        error = _invoke_error(client, body)
        assert error["Error"] == {"Code": "ValidationException", "Message": MSG_TEXT_TOO_LONG}
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert MSG_TEXT_TOO_LONG == "Input is too long for requested model."
    end = _embed(invoke, ["ok", long], truncate="END")
    start = _embed(invoke, [long], truncate="START")
    kept_end, kept_start = end["json"]["texts"][1], start["json"]["texts"][0]
    assert kept_end == long.encode()[:2048].decode() and kept_start == long.encode()[-2048:].decode()
    assert kept_end.startswith("start ") and not kept_end.endswith("finish")
    assert kept_start.endswith("finish") and not kept_start.startswith("start ")
    assert end["headers"]["x-amzn-bedrock-input-token-count"] == "513"  # "ok" + 512
    assert start["headers"]["x-amzn-bedrock-input-token-count"] == "512"
    assert end["json"]["embeddings"][1] == _vectors(invoke, [kept_end])[0]  # cut first, then embedded
    assert start["json"]["embeddings"][0] == _vectors(invoke, [kept_start])[0]


def test_a_cut_through_a_multibyte_character_drops_it(invoke) -> None:
    text = "ä" * 1100  # 2 bytes each: a cut 1 byte off a character boundary splits one
    end = _embed(invoke, ["a" + text], truncate="END")
    assert end["json"]["texts"] == ["a" + "ä" * 1023]  # 2047 bytes kept, still 512 tokens
    assert end["headers"]["x-amzn-bedrock-input-token-count"] == "512"
    start = _embed(invoke, [text + "a"], truncate="START")
    assert start["json"]["texts"] == ["ä" * 1023 + "a"]


def test_v4_max_tokens_lowers_the_per_text_budget(client, invoke) -> None:
    text = "x" * 400  # 100 tokens
    cut = _embed(invoke, [text, "short"], V4, max_tokens=50, truncate="END")
    assert cut["json"]["texts"] == ["x" * 200, "short"]
    assert cut["headers"]["x-amzn-bedrock-input-token-count"] == "52"
    error = _invoke_error(client, {"texts": [text], "input_type": "search_query", "max_tokens": 50}, V4)
    assert error["Error"]["Message"] == MSG_TEXT_TOO_LONG
    assert _embed(invoke, [text], V4, max_tokens=100)["json"]["texts"] == [text]
    error = _invoke_error(client, {"texts": ["x" * 2052], "input_type": "search_query", "max_tokens": 9999}, V4)
    assert error["Error"]["Message"] == MSG_TEXT_TOO_LONG  # 512 stays the ceiling


@pytest.mark.parametrize("model", [V3, V4_US])
@pytest.mark.parametrize("operation, kwargs, message", [
    ("invoke_model_with_response_stream", {"body": json.dumps({"texts": ["x"], "input_type": "search_query"})},
     MSG_NO_STREAMING),
    ("converse", {"messages": MESSAGES}, MSG_NOT_A_CHAT_MODEL),
    ("converse_stream", {"messages": MESSAGES}, MSG_NOT_A_CHAT_MODEL),
    ("count_tokens", {"input": {"converse": {"messages": MESSAGES}}}, MSG_NO_COUNT_TOKENS),
])
def test_only_invoke_model_is_served(client, model: str, operation: str, kwargs: dict[str, Any],
                                     message: str) -> None:
    error = client_error(getattr(client, operation), modelId=model, **kwargs)
    assert error["Error"] == {"Code": "ValidationException", "Message": message}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_faults_the_request_log_and_stats_apply(emulator, client, invoke) -> None:
    emulator.add_fault("throttle", model="embed-v4")
    body = {"texts": ["x"], "input_type": "search_query"}
    _embed(invoke, ["x"], V3)  # the rule names v4 only
    error = _invoke_error(client, body, V4_US)
    assert error["Error"]["Code"] == "ThrottlingException" and error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert _embed(invoke, ["x"], V4_US)["json"]["embeddings"]
    assert emulator.stats()["operations"]["invoke"] == {"200": 2, "429": 1}
    assert [(e["operation"], e["model_id"], e["status"], e["body"]) for e in emulator.requests()] == [
        ("invoke", V3, 200, {"texts": ["x"], "input_type": "search_document"}),
        ("invoke", V4_US, 429, body), ("invoke", V4_US, 200, {"texts": ["x"], "input_type": "search_document"})]


def test_latency_ms_delays_the_answer(emulator, invoke) -> None:
    emulator.update_settings(latency_ms=250)
    started = time.monotonic()
    headers = _embed(invoke, ["slow"])["headers"]
    assert time.monotonic() - started >= 0.2 and int(headers["x-amzn-bedrock-invocation-latency"]) >= 200


def test_the_standard_tier_only(client) -> None:
    body = {"texts": ["x"], "input_type": "search_query"}
    for tier in ("flex", "priority"):
        error = _invoke_error(client, body, V4, serviceTier=tier)
        assert error["Error"] == {"Code": "ValidationException", "Message": MSG_TIER_NOT_SUPPORTED}
    response = client.invoke_model(modelId=V3, body=json.dumps(body), serviceTier="default")
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-service-tier"] == "default"


def test_catalogue_entries() -> None:
    for model in (V3_EN, V3, V4):
        info = CATALOGUE[model]
        assert (info.family, info.profile_only, info.is_embedding, info.service_tiers) == (
            "cohere-embed", False, True, ("default",))
        assert not (info.supports_tools or info.supports_count_tokens or info.supports_prompt_caching)
    profile = resolve_model(V4_US)
    assert (profile.info.base_id, profile.profile) == (V4, "us")
