"""Titan Text Embeddings V2 on InvokeModel: vector shape, determinism, validation, refused operations."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from emulator_helpers import (SONNET_45, TITAN, assert_throttled_then_served, claude_body, client_error, cosine,
                              make_client, malformed, norm)

from kong_plugins.emulator.models import CATALOGUE

EMBED = "amazon.titan-embed-text-v2:0"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


def test_default_float_embedding_with_unit_norm_and_token_count(invoke) -> None:
    result = invoke({"inputText": "Hello embeddings"}, model=EMBED)  # 16 utf-8 bytes -> 4 tokens
    output, headers = result["json"], result["headers"]
    assert list(output) == ["embedding", "inputTextTokenCount", "embeddingsByType"]
    vector = output["embedding"]
    assert len(vector) == 1024 and all(isinstance(v, float) for v in vector)
    assert math.isclose(norm(vector), 1.0)
    assert output["embeddingsByType"] == {"float": vector}
    assert output["inputTextTokenCount"] == 4
    assert headers["x-amzn-bedrock-input-token-count"] == "4"
    assert headers["x-amzn-bedrock-output-token-count"] == "0"
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert headers["content-type"] == "application/json" and headers["x-amzn-requestid"]


def test_token_count_matches_titan_text_for_the_same_text(invoke) -> None:
    text = "Grüße aus Köln, 東京 and ASCII words"  # multi-byte: counted from utf-8 bytes
    embedded = invoke({"inputText": text}, model=EMBED)["json"]["inputTextTokenCount"]
    assert embedded == math.ceil(len(text.encode("utf-8")) / 4) == 11
    generated = invoke({"inputText": text}, model=TITAN)["json"]["inputTextTokenCount"]
    assert embedded == generated


@pytest.mark.parametrize("dimensions", [256, 512, 1024])
def test_dimensions(invoke, dimensions: int) -> None:
    output = invoke({"inputText": "size me", "dimensions": dimensions}, model=EMBED)["json"]
    assert len(output["embedding"]) == dimensions == len(output["embeddingsByType"]["float"])
    assert math.isclose(norm(output["embedding"]), 1.0)


def test_same_text_same_vector_other_text_other_vector(invoke) -> None:
    first = invoke({"inputText": "Otters hold hands while sleeping"}, model=EMBED)["json"]["embedding"]
    again = invoke({"inputText": "Otters hold hands while sleeping"}, model=EMBED)["json"]["embedding"]
    other = invoke({"inputText": "Otters hold hands while sleeping."}, model=EMBED)["json"]["embedding"]
    assert first == again
    assert other != first and len(other) == len(first)
    small = invoke({"inputText": "Otters hold hands while sleeping", "dimensions": 256}, model=EMBED)["json"]
    assert small["embedding"] == invoke({"inputText": "Otters hold hands while sleeping", "dimensions": 256},
                                        model=EMBED)["json"]["embedding"]


def test_texts_sharing_words_are_closer_than_unrelated_ones(invoke) -> None:
    def embed(text: str) -> list[float]:
        return invoke({"inputText": text}, model=EMBED)["json"]["embedding"]

    cat = embed("The cat sat on the mat")
    similar, unrelated = embed("the cat sat on a mat"), embed("Quarterly revenue grew strongly in Europe")
    assert cosine(cat, similar) > 0.5
    assert abs(cosine(cat, unrelated)) < 0.2


def test_normalize_false_returns_the_unscaled_vector(invoke) -> None:
    raw = invoke({"inputText": "scale check", "normalize": False}, model=EMBED)["json"]["embedding"]
    unit = invoke({"inputText": "scale check", "normalize": True}, model=EMBED)["json"]["embedding"]
    length = norm(raw)
    assert not math.isclose(length, 1.0, rel_tol=1e-3)
    assert all(math.isclose(r / length, u, rel_tol=1e-9, abs_tol=1e-12) for r, u in zip(raw, unit))


def test_binary_and_float_types(invoke) -> None:
    body = {"inputText": "binary please", "dimensions": 512, "embeddingTypes": ["float", "binary"]}
    output = invoke(body, model=EMBED)["json"]
    by_type, floats = output["embeddingsByType"], output["embedding"]
    assert list(by_type) == ["float", "binary"] and by_type["float"] == floats
    assert by_type["binary"] == [1 if v > 0 else 0 for v in floats]
    assert len(by_type["binary"]) == 512 and 0 < sum(by_type["binary"]) < 512


def test_binary_only_still_returns_the_float_embedding(invoke) -> None:
    output = invoke({"inputText": "just bits", "embeddingTypes": ["binary"]}, model=EMBED)["json"]
    assert list(output["embeddingsByType"]) == ["binary"]
    assert len(output["embedding"]) == 1024 and all(isinstance(v, float) for v in output["embedding"])
    assert output["embeddingsByType"]["binary"] == [1 if v > 0 else 0 for v in output["embedding"]]


@pytest.mark.parametrize("body, detail", [
    ({}, "#: required key [inputText] not found"),
    ({"inputText": 5}, "#/inputText: expected type: String, found: Integer"),
    ({"inputText": None}, "#/inputText: expected type: String, found: Null"),
    ({"inputText": ""}, "#/inputText: expected minLength: 1, actual: 0"),
    ({"inputText": "x" * 50_001}, "#/inputText: expected maxLength: 50000, actual: 50001"),
    ({"inputText": "x", "dimensions": 300}, "#/dimensions: 300 is not a valid enum value"),
    ({"inputText": "x", "dimensions": "256"}, "#/dimensions: expected type: Integer, found: String"),
    ({"inputText": "x", "normalize": "yes"}, "#/normalize: expected type: Boolean, found: String"),
    ({"inputText": "x", "embeddingTypes": "float"}, "#/embeddingTypes: expected type: JSONArray, found: String"),
    ({"inputText": "x", "embeddingTypes": []}, "#/embeddingTypes: expected minimum item count: 1, found: 0"),
    ({"inputText": "x", "embeddingTypes": ["float", "int8"]}, "#/embeddingTypes/1: int8 is not a valid enum value"),
    ({"inputText": "x", "texts": ["y"]}, "#: extraneous key [texts] is not permitted"),
    (["x"], "#: expected type: JSONObject, found: JSONArray"),
])
def test_body_validation(client, body: object, detail: str) -> None:
    error = client_error(client.invoke_model, modelId=EMBED, body=json.dumps(body))
    assert error["Error"] == {"Code": "ValidationException", "Message": malformed(detail)}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_token_limit(client, invoke) -> None:
    at_limit = ("word " * 7000)[:32_768]  # ceil(32768 / 4) = 8192 tokens
    assert invoke({"inputText": at_limit}, model=EMBED)["json"]["inputTextTokenCount"] == 8192
    error = client_error(client.invoke_model, modelId=EMBED, body=json.dumps({"inputText": at_limit + "more"}))
    assert error["Error"] == {"Code": "ValidationException", "Message": (
        "400 Bad Request: Too many input tokens. Max input tokens: 8192, request input token size: 8193")}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("operation, kwargs, message", [
    ("invoke_model_with_response_stream", {"body": json.dumps({"inputText": "x"})},
     "The model is unsupported for streaming."),
    ("converse", {"messages": MESSAGES}, "This action doesn't support the model that you provided. "
                                         "Try again with a supported text or chat model."),
    ("converse_stream", {"messages": MESSAGES}, "This action doesn't support the model that you provided. "
                                                "Try again with a supported text or chat model."),
    ("count_tokens", {"input": {"converse": {"messages": MESSAGES}}},
     "The provided model doesn't support counting tokens."),
])
def test_only_invoke_is_served(client, operation: str, kwargs: dict[str, Any], message: str) -> None:
    error = client_error(getattr(client, operation), modelId=EMBED, **kwargs)
    assert error["Error"] == {"Code": "ValidationException", "Message": message}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_embedding_id_is_an_invalid_identifier(client) -> None:
    unknown = client_error(client.invoke_model, modelId="amazon.titan-embed-text-v9:0",
                     body=json.dumps({"inputText": "x"}))
    other = client_error(client.invoke_model, modelId="anthropic.claude-9-ultra-v1:0", body=json.dumps(claude_body()))
    assert unknown["Error"] == other["Error"] == {"Code": "ValidationException",
                                                  "Message": "The provided model identifier is invalid."}
    assert unknown["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_catalogue_entry() -> None:
    info = CATALOGUE[EMBED]
    assert (info.family, info.profile_only, info.is_embedding) == ("titan-embed", False, True)
    assert not (info.supports_tools or info.supports_structured_output or info.supports_count_tokens)
    assert {m.base_id for m in CATALOGUE.values() if m.is_embedding} == {
        EMBED, "cohere.embed-english-v3", "cohere.embed-multilingual-v3", "cohere.embed-v4:0"}
    assert CATALOGUE[TITAN].supports_tools is False and CATALOGUE["amazon.nova-lite-v1:0"].supports_tools


def test_faults_apply_to_embeddings(emulator, client) -> None:
    emulator.add_fault("throttle", model="titan-embed")
    body = json.dumps({"inputText": "x"})
    assert_throttled_then_served(client, EMBED, body)
    assert emulator.stats()["operations"]["invoke"] == {"429": 1, "200": 1}
    assert [(e["operation"], e["model_id"], e["status"]) for e in emulator.requests()] == [
        ("invoke", EMBED, 429), ("invoke", EMBED, 200)]


def test_sigv4_is_checked_before_the_body(emulator) -> None:
    bad = make_client(emulator.url, secret_key="not-the-secret")
    error = client_error(bad.invoke_model, modelId=EMBED, body=json.dumps({"inputText": ""}))
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_embeddings_never_touch_the_prompt_cache(emulator, client, invoke, monkeypatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the prompt cache was consulted")

    monkeypatch.setattr(emulator.state.cache, "account", refuse)
    assert invoke({"inputText": "no cache here"}, model=EMBED)["json"]["inputTextTokenCount"] == 4
    # The patch is live: a chat model that does account the cache now fails with a 500.
    error = client_error(client.invoke_model, modelId=SONNET_45, body=json.dumps(claude_body()))
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
