"""Cohere Embed (v3 English and Multilingual, v4) on InvokeModel: shapes, input types, limits, refusals."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kong_plugins.emulator.cohere_embed import MSG_TEXT_TOO_LONG

V3 = "cohere.embed-multilingual-v3"
V4 = "cohere.embed-v4:0"


def _norm(values: list[float]) -> float:
    return math.sqrt(math.fsum(v * v for v in values))


def _cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b)) / (_norm(a) * _norm(b))


def _error(client: Any, body: Any, model: str = V3) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=model, body=json.dumps(body))
    return exc.value.response["Error"]


def _malformed(detail: str) -> str:
    return f"Malformed input request: {detail}, please reformat your input and try again."


def test_v3_gives_unit_vectors_in_order_and_counts_every_texts_tokens(invoke) -> None:
    texts = ["rote Laufschuhe", "red running shoes", "Rückgabe eines beschädigten Pakets"]
    result = invoke({"texts": texts, "input_type": "search_document"}, model=V3)
    output, headers = result["json"], result["headers"]
    assert output["response_type"] == "embeddings_floats" and output["texts"] == texts and output["id"]
    vectors = output["embeddings"]
    assert [len(v) for v in vectors] == [1024] * 3 and all(math.isclose(_norm(v), 1.0) for v in vectors)
    assert int(headers["x-amzn-bedrock-input-token-count"]) == math.ceil(sum(len(t.encode()) for t in texts) / 4)
    assert headers["x-amzn-bedrock-output-token-count"] == "0"
    again = invoke({"texts": texts[1:2], "input_type": "search_document"}, model=V3)["json"]["embeddings"][0]
    assert again == vectors[1]
    shoes = invoke({"texts": ["red running shoes for kids"], "input_type": "search_document"}, model=V3)
    assert _cosine(vectors[1], shoes["json"]["embeddings"][0]) > _cosine(vectors[1], vectors[2])


def test_a_query_and_a_document_of_the_same_words_differ_but_stay_close(invoke) -> None:
    document = invoke({"texts": ["red shoes"], "input_type": "search_document"}, model=V3)["json"]["embeddings"][0]
    query = invoke({"texts": ["red shoes"], "input_type": "search_query"}, model=V3)["json"]["embeddings"][0]
    other = invoke({"texts": ["parcel refund"], "input_type": "search_query"}, model=V3)["json"]["embeddings"][0]
    assert query != document and _cosine(query, document) > _cosine(query, other)


def test_v4_dimensions_and_typed_embeddings(invoke) -> None:
    default = invoke({"texts": ["hat"], "input_type": "clustering"}, model=V4)["json"]["embeddings"][0]
    assert len(default) == 1536
    output = invoke({"texts": ["hat", "cap"], "input_type": "clustering", "output_dimension": 256,
                     "embedding_types": ["float", "int8", "ubinary"]}, model=V4)["json"]
    assert output["response_type"] == "embeddings_by_type" and list(output["embeddings"]) == ["float", "int8", "ubinary"]
    floats, int8, ubinary = (output["embeddings"][k] for k in ("float", "int8", "ubinary"))
    assert [len(v) for v in floats] == [256, 256] and floats[0] == pytest.approx(
        [v / _norm(default[:256]) for v in default[:256]], abs=1e-9)
    assert all(-128 <= x <= 127 for x in int8[0]) and [len(v) for v in ubinary] == [32, 32]


@pytest.mark.parametrize("body, model, detail", [
    ({"texts": ["x"]}, V3, "#: required key [input_type] not found"),
    ({"input_type": "search_query"}, V3, "#: required key [texts] not found"),
    ({"texts": ["x"] * 97, "input_type": "search_query"}, V3, "#/texts: expected maximum item count: 96, found: 97"),
    ({"texts": [], "input_type": "search_query"}, V3, "#/texts: expected minimum item count: 1, found: 0"),
    ({"texts": [3], "input_type": "search_query"}, V3, "#/texts/0: expected type: String, found: Integer"),
    ({"texts": ["x"], "input_type": "query"}, V3, "#/input_type: query is not a valid enum value"),
    ({"texts": ["x"], "input_type": "search_query", "truncate": "MIDDLE"}, V3, "#/truncate: MIDDLE is not a valid enum value"),
    ({"texts": ["x"], "input_type": "search_query", "embedding_types": ["int4"]}, V3,
     "#/embedding_types/0: int4 is not a valid enum value"),
    ({"texts": ["x"], "input_type": "search_query", "output_dimension": 256}, V3,
     "#: extraneous key [output_dimension] is not permitted"),
    ({"texts": ["x"], "input_type": "search_query", "output_dimension": 300}, V4,
     "#/output_dimension: 300 is not a valid enum value"),
])
def test_schema_errors_in_bedrocks_words(client, body, model, detail) -> None:
    error = _error(client, body, model)
    assert error["Code"] == "ValidationException" and error["Message"] == _malformed(detail)


def test_a_text_over_512_tokens_is_refused_unless_truncated_from_either_end(client, invoke) -> None:
    long = "start " + "word " * 600 + "finish"
    error = _error(client, {"texts": ["ok", long], "input_type": "search_document"})
    assert error["Message"] == MSG_TEXT_TOO_LONG.format(index=1, tokens=math.ceil(len(long) / 4))
    end = invoke({"texts": [long], "input_type": "search_document", "truncate": "END"}, model=V3)
    start = invoke({"texts": [long], "input_type": "search_document", "truncate": "START"}, model=V3)
    assert end["json"]["texts"][0].startswith("start ") and not end["json"]["texts"][0].endswith("finish")
    assert start["json"]["texts"][0].endswith("finish") and not start["json"]["texts"][0].startswith("start ")
    assert int(end["headers"]["x-amzn-bedrock-input-token-count"]) == 512


def test_streaming_converse_and_faults(emulator, client) -> None:
    body = json.dumps({"texts": ["x"], "input_type": "search_query"})
    with pytest.raises(ClientError) as exc:
        client.invoke_model_with_response_stream(modelId=V3, body=body)
    assert exc.value.response["Error"]["Message"] == "The model is unsupported for streaming."
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=V3, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert "doesn't support the model" in exc.value.response["Error"]["Message"]
    emulator.add_fault("throttle", model="cohere")
    with pytest.raises(ClientError) as exc:
        client.invoke_model(modelId=V3, body=body)
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"
    assert client.invoke_model(modelId=V3, body=body)["ResponseMetadata"]["HTTPStatusCode"] == 200
