"""tests/openai_stub.py, driven by the official openai SDK (and raw HTTP where the SDK hides details)."""

from __future__ import annotations

import json
import math
from typing import Iterator

import openai
import pytest
import requests

from tests.openai_stub import OpenAIStub

API_KEY = "sk-stub-test"
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "system", "content": "You are terse."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "What is the capital of France?"}]
EXPECTED = "Stub reply to: What is the capital of France?"
PROMPT_TOKENS = math.ceil(sum(len(m["content"]) for m in MESSAGES) / 4)


@pytest.fixture(scope="module")
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(api_key=API_KEY, model=MODEL) as server:
        yield server


@pytest.fixture
def client(stub: OpenAIStub) -> openai.OpenAI:
    stub.clear()
    return openai.OpenAI(base_url=stub.url + "/v1", api_key=API_KEY, max_retries=0, timeout=10)


def test_url_has_no_v1_suffix(stub: OpenAIStub) -> None:
    assert stub.url.startswith("http://127.0.0.1:") and not stub.url.endswith("/v1")


def test_chat_completion(stub: OpenAIStub, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="my-model-alias", messages=MESSAGES)
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "my-model-alias"
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == EXPECTED
    assert choice.finish_reason == "stop"
    words = len(EXPECTED.split())
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == \
        (PROMPT_TOKENS, words, PROMPT_TOKENS + words)
    again = client.chat.completions.create(model="my-model-alias", messages=MESSAGES)
    assert again.choices[0].message.content == EXPECTED  # deterministic


def test_requests_are_recorded_with_redacted_authorization(stub: OpenAIStub, client: openai.OpenAI) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.2)
    [entry] = stub.requests
    assert entry["path"] == "/v1/chat/completions"
    assert entry["headers"]["authorization"] == "Bearer"
    assert API_KEY not in json.dumps(entry)
    assert entry["headers"]["content-type"] == "application/json"
    assert entry["body"]["messages"] == MESSAGES and entry["body"]["temperature"] == 0.2


def test_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                 stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" and c.model == MODEL for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == EXPECTED
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(EXPECTED.split())
    assert chunks[-1].usage.prompt_tokens == PROMPT_TOKENS
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert all(c.usage is None and c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_raw_stream_framing(stub: OpenAIStub) -> None:
    response = requests.post(f"{stub.url}/v1/chat/completions", stream=True, timeout=10,
                             headers={"Authorization": f"Bearer {API_KEY}"},
                             json={"model": MODEL, "messages": MESSAGES, "stream": True})
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Transfer-Encoding"] == "chunked"
    chunks = [c.decode() for c in response.raw.read_chunked(decode_content=False)]
    assert all(c.startswith("data: ") and c.endswith("\n\n") for c in chunks)
    assert chunks[-1] == "data: [DONE]\n\n"
    assert "usage" not in json.loads(chunks[0][len("data: "):])


def test_max_tokens_truncates_with_length(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_completion_tokens=4)
    assert completion.choices[0].message.content == "Stub reply to: What"
    assert completion.choices[0].finish_reason == "length" and completion.usage.completion_tokens == 4


def test_wrong_or_missing_key_is_401(stub: OpenAIStub) -> None:
    bad = openai.OpenAI(base_url=stub.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        bad.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert exc.value.status_code == 401 and exc.value.code == "invalid_api_key"
    response = requests.post(f"{stub.url}/v1/chat/completions", json={"model": MODEL, "messages": MESSAGES},
                             timeout=5)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [MODEL]


def test_bad_requests(stub: OpenAIStub, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[])
    response = requests.post(f"{stub.url}/v1/nope", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
    assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"


def test_keep_alive_connection_reuse(stub: OpenAIStub) -> None:
    with requests.Session() as session:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        for stream in (False, True, False):
            response = session.post(f"{stub.url}/v1/chat/completions", headers=headers, timeout=5,
                                    json={"model": MODEL, "messages": MESSAGES, "stream": stream})
            assert response.status_code == 200 and response.content
        assert response.headers.get("Connection", "").lower() != "close"
