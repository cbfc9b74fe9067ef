"""OpenAI embeddings on Cohere Embed Multilingual v3 through the whole stack, with the official SDK: 96 texts per
Bedrock call, documents unless the client says `input_type: search_query` (an extra body field)."""

import math

import openai
import pytest

from tests.e2e.clients import oa

PRODUCTS = [f"Produkt {i}: {word} Laufschuhe" for i, word in enumerate(["rote", "blaue", "grüne", "graue"] * 50)]


def sent(stack):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if "cohere" in r["model_id"]]


def test_two_hundred_texts_take_three_calls_and_come_back_in_order(stack):
    client = oa(stack, "dev-ops-key")
    raw = client.embeddings.with_raw_response.create(model="cohere-embed", input=PRODUCTS, encoding_format="float")
    result = raw.parse()
    calls = sent(stack)
    assert sorted(len(c["body"]["texts"]) for c in calls) == [8, 96, 96]
    assert {c["body"]["input_type"] for c in calls} == {"search_document"}
    assert [d.index for d in result.data] == list(range(200))
    assert all(len(d.embedding) == 1024 and math.isclose(math.hypot(*d.embedding), 1.0, rel_tol=1e-4)
               for d in result.data)
    for i in (0, 101, 199):
        alone = client.embeddings.create(model="cohere-embed", input=PRODUCTS[i], encoding_format="float")
        assert alone.data[0].embedding == pytest.approx(result.data[i].embedding, abs=1e-6)
    assert result.usage.prompt_tokens == int(raw.headers["X-Token-Usage-Input"]) > 200
    assert float(raw.headers["X-Token-Cost-USD"]) == pytest.approx(result.usage.prompt_tokens * 0.10 / 1e6, abs=1e-6)


def test_a_question_is_embedded_as_a_query_when_the_client_says_so(stack):
    client = oa(stack, "dev-analyst-key")
    query = client.embeddings.create(model="cohere-embed", input="rote Schuhe?", encoding_format="float",
                                     extra_body={"input_type": "search_query"})
    assert sent(stack)[-1]["body"]["input_type"] == "search_query"
    document = client.embeddings.create(model="cohere-embed", input="rote Schuhe?", encoding_format="float")
    assert query.data[0].embedding != pytest.approx(document.data[0].embedding, abs=1e-3)


def test_what_cohere_cannot_take_is_refused_before_any_call(stack):
    client = oa(stack, "dev-analyst-key")
    with pytest.raises(openai.BadRequestError) as exc:
        client.embeddings.create(model="cohere-embed", input="x", dimensions=256)
    assert exc.value.body["param"] == "dimensions" and "1024-dimension vectors only" in exc.value.message
    with pytest.raises(openai.BadRequestError) as exc:
        client.embeddings.create(model="cohere-embed", input="x", extra_body={"input_type": "query"})
    assert exc.value.body["param"] == "input_type"
    assert not sent(stack)


def test_a_text_past_cohere_s_limit_is_bedrock_s_400(stack):
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack, "dev-analyst-key").embeddings.create(model="cohere-embed", input=["short", "word " * 3000])
    assert "Traceback" not in exc.value.message and len(sent(stack)) == 1
