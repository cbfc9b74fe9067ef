"""OpenAI embeddings requests, the Titan and Cohere bodies and answers, and the OpenAI answer, without Kong
or Bedrock."""

import base64
import json
import struct

import pytest

from kong_plugins.formats import openai_embeddings
from kong_plugins.formats.embedding_models import Cohere, Titan, embedding_model
from kong_plugins.formats.body import RequestError
from tests.unit.test_bedrock_proxy_decide import PLUGIN, ctx_for


def parse(**body):
    return openai_embeddings.parse_request(json.dumps(body).encode())


def test_one_string_or_a_list_of_strings():
    assert parse(model="titan-embed", input="a shoe").texts == ("a shoe",)
    request = parse(model="titan-embed", input=["a", "b"], dimensions=256, encoding_format="base64")
    assert request.texts == ("a", "b") and request.dimensions == 256 and request.encoding == "base64"
    assert [json.loads(b) for b in Titan().bodies(request, "titan-embed")] == [
        {"inputText": "a", "normalize": True, "dimensions": 256}, {"inputText": "b", "normalize": True, "dimensions": 256}]
    assert parse(model="m", input="x").encoding == "float"


@pytest.mark.parametrize("body, param, words", [
    ({"model": "m"}, "input", "Field required"),
    ({"model": "m", "input": []}, "input", "non-empty"),
    ({"model": "m", "input": [1, 2, 3]}, "input", "token arrays"),
    ({"model": "m", "input": [[1, 2], [3]]}, "input", "token arrays"),
    ({"model": "m", "input": ["ok", ""]}, "input", "must not be empty"),
    ({"model": "m", "input": ["x"] * 2049}, "input", "at most 2048"),
    ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format", "float or base64"),
    ({"model": "m", "input": "x", "dimensions": 0}, "dimensions", "positive integer"),
    ({"model": "m", "input": "x", "dimensions": "256"}, "dimensions", "positive integer"),
    ({"model": "m", "input": "x", "dimensions": True}, "dimensions", "positive integer"),
])
def test_bad_requests_name_the_field(body, param, words):
    with pytest.raises(RequestError) as exc:
        parse(**body)
    assert exc.value.param == param and words in str(exc.value)


def test_render_float_and_base64_like_openai():
    vectors = [[0.5, -0.25], [1.0, 0.0]]
    floats = json.loads(openai_embeddings.render(vectors, 7, model="titan-embed", encoding="float"))
    assert floats == {"object": "list", "model": "titan-embed", "usage": {"prompt_tokens": 7, "total_tokens": 7},
                      "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
                               {"object": "embedding", "index": 1, "embedding": [1.0, 0.0]}]}
    b64 = json.loads(openai_embeddings.render(vectors, 7, model="titan-embed", encoding="base64"))
    assert struct.unpack("<2f", base64.b64decode(b64["data"][0]["embedding"])) == (0.5, -0.25)


def test_read_titan_refuses_what_is_not_an_embedding():
    assert Titan().read(b'{"embedding": [0.1], "inputTextTokenCount": 3}', {}) == ([[0.1]], 3)
    for content in (b'{"embedding": [], "inputTextTokenCount": 3}', b'{"results": []}', b"[1]"):
        with pytest.raises(ValueError):
            Titan().read(content, {})


def test_the_model_family_comes_from_the_bedrock_id():
    assert isinstance(embedding_model("amazon.titan-embed-text-v2:0"), Titan)
    assert embedding_model("cohere.embed-multilingual-v3").v4 is False
    assert embedding_model("us.cohere.embed-v4:0").v4 is True


def test_cohere_takes_96_texts_per_call_as_documents_unless_told():
    request = parse(model="cohere-embed", input=[f"t{i}" for i in range(200)])
    bodies = [json.loads(b) for b in Cohere(v4=False).bodies(request, "cohere-embed")]
    assert [len(b["texts"]) for b in bodies] == [96, 96, 8]
    assert [t for b in bodies for t in b["texts"]] == list(request.texts)
    assert bodies[0] == {"texts": bodies[0]["texts"], "input_type": "search_document", "truncate": "NONE"}
    query = parse(model="cohere-embed", input="red shoes?", input_type="search_query", dimensions=512)
    assert json.loads(Cohere(v4=True).bodies(query, "cohere-v4")[0]) == {
        "texts": ["red shoes?"], "input_type": "search_query", "truncate": "NONE", "output_dimension": 512}


@pytest.mark.parametrize("model, body, param, words", [
    (Cohere(v4=False), {"input": "x", "dimensions": 512}, "dimensions", "1024-dimension vectors only"),
    (Cohere(v4=False), {"input": "x", "input_type": "query"}, "input_type", "search_document, search_query"),
    (Titan(), {"input": "x", "input_type": "search_query"}, "input_type", "send none"),
])
def test_what_a_model_cannot_take_is_a_request_error(model, body, param, words):
    with pytest.raises(RequestError) as exc:
        model.bodies(parse(model="m", **body), "m")
    assert exc.value.param == param and words in str(exc.value)


def test_read_cohere_takes_its_vectors_and_the_token_header():
    content = b'{"id": "1", "response_type": "embeddings_floats", "embeddings": [[0.6, 0.8], [1.0, 0.0]]}'
    assert Cohere(v4=False).read(content, {"X-Amzn-Bedrock-Input-Token-Count": "9"}) == ([[0.6, 0.8], [1.0, 0.0]], 9)
    for content in (b'{"embeddings": []}', b'{"embeddings": {"float": [[1.0]]}}', b"[]"):
        with pytest.raises(ValueError):
            Cohere(v4=False).read(content, {})


def test_decide_plans_one_titan_call_per_text_without_fallbacks():
    ctx = ctx_for("analyst", {"model": "titan-embed", "input": ["red shoes", "blue hat"]})
    assert PLUGIN.decide(ctx, "/v1/embeddings") is None
    call = ctx.upstream
    assert call.operation == "embed" and call.model_id == "amazon.titan-embed-text-v2:0" and not ctx.fallbacks
    assert [json.loads(b)["inputText"] for b in call.embedding.bodies] == ["red shoes", "blue hat"]
    assert ctx.planned_input == 5 and ctx.planned_output == 0


@pytest.mark.parametrize("role, body, status, words", [
    ("analyst", {"input": "x"}, 400, "model: required; embedding models your role may use: cohere-embed, titan-embed."),
    ("analyst", {"model": "cohere-embed", "input": "x", "dimensions": 256}, 400, "1024-dimension vectors only"),
    ("analyst", {"model": "haiku", "input": "x"}, 400, "haiku is not an embedding model"),
    ("guest", {"model": "titan-embed", "input": "x"}, 403, "may use these models: haiku"),
    ("guest", {"input": "x"}, 400, "embedding models your role may use: none."),
    ("analyst", {"model": "text-embedding-3-small", "input": "x"}, 404, "catalogue"),
])
def test_embeddings_refusals(role, body, status, words):
    reply = PLUGIN.decide(ctx_for(role, body), "/v1/embeddings")
    assert reply.status == status and words in reply.body["error"]["message"]
