"""Streams reach the client incrementally; the role policy holds through the whole stack."""

import json
import time

import anthropic
import boto3
import openai
import pytest
import requests
from botocore.config import Config

from tests.unit.test_bedrock_proxy_decide import POLICY

ROLES = {"admin": "dev-admin-key", "developer": "dev-developer-key", "analyst": "dev-analyst-key",
         "ecommerce_ops": "dev-ops-key", "guest": "dev-guest-key"}
ASK = [{"role": "user", "content": "Tell me a story"}]


@pytest.fixture()
def held(stack):
    """While held, the emulator sends every stream but its last content delta, until released.

    Calling it releases them and returns how many streams were waiting at the gate. The
    client can read its first token before the emulator's thread has written the deltas
    in between and reached the gate (under load), so it first waits, at most 5 s, for a
    stream to be there: one waiting at the gate has not sent its last delta.
    """
    def release() -> int:
        deadline = time.monotonic() + 5
        while stack.emulator_control("GET", "/_emulator/hold").json()["waiting"] < 1 \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        return stack.emulator_control("POST", "/_emulator/release").json()["released"]

    stack.emulator_control("POST", "/_emulator/hold")
    yield release
    stack.emulator_control("POST", "/_emulator/release")


def test_anthropic_client_has_its_first_token_before_the_last_is_released(stack, held):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    with client.messages.stream(model="sonnet", max_tokens=64, messages=ASK) as stream:
        texts = iter(stream.text_stream)
        first = next(texts)
        assert first and held() == 1          # the emulator was still holding the last token
        rest = "".join(texts)
    assert rest


def test_openai_client_has_its_first_token_before_the_last_is_released(stack, held):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    chunks = iter(client.chat.completions.create(model="sonnet", max_tokens=64, messages=ASK, stream=True))
    first = next(c for c in chunks if c.choices and c.choices[0].delta.content)
    assert first and held() == 1
    assert [c for c in chunks]


def test_openai_responses_client_has_its_first_token_before_the_last_is_released(stack, held):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    events = iter(client.responses.create(model="sonnet", max_output_tokens=64, input=ASK, stream=True))
    first = next(e for e in events if e.type == "response.output_text.delta")
    assert first.delta and held() == 1
    assert [e.type for e in events][-1] == "response.completed"


def test_native_stream_first_event_before_the_last_is_released(stack, held):
    runtime = boto3.client("bedrock-runtime", endpoint_url=stack.proxy_url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x",
                           config=Config(retries={"total_max_attempts": 1}))
    runtime.meta.events.register("before-send.bedrock-runtime.*",
                                 lambda request, **_: request.headers.__setitem__("X-API-Key", "dev-developer-key"))
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": ASK}
    out = runtime.invoke_model_with_response_stream(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
                                                    body=json.dumps(body))
    events = iter(out["body"])
    deltas = (json.loads(e["chunk"]["bytes"]) for e in events)
    assert next(d for d in deltas if d["type"] == "content_block_delta")
    assert held() == 1
    assert [d["type"] for d in deltas][-1] == "message_stop"


def test_anthropic_sdk_tools_round_trip(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    tools = [{"name": "lookup_order", "description": "Find an order",
              "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}},
                               "required": ["order_id"]}}]
    first = client.messages.create(model="sonnet", max_tokens=200, tools=tools, tool_choice={"type": "any"},
                                   messages=[{"role": "user", "content": "Where is order 7?"}])
    use = next(b for b in first.content if b.type == "tool_use")
    assert first.stop_reason == "tool_use" and use.name == "lookup_order" and "order_id" in use.input
    second = client.messages.create(model="sonnet", max_tokens=200, tools=tools, messages=[
        {"role": "user", "content": "Where is order 7?"},
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "shipped"}]}])
    assert second.stop_reason == "end_turn" and second.content[0].text


def test_a_tool_anthropics_api_defines_is_a_clear_400_on_a_converse_model_before_any_call(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-analyst-key", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="titan", max_tokens=20, messages=ASK,
                               tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}])
    assert "'web_search_20250305' is a tool Anthropic's API defines" in caught.value.body["error"]["message"]
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_anthropic_sdk_thinking(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    message = client.messages.create(model="sonnet", max_tokens=2048, messages=ASK,
                                     thinking={"type": "enabled", "budget_tokens": 1024})
    kinds = [b.type for b in message.content]
    assert kinds[0] == "thinking" and "text" in kinds and message.content[0].signature


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_policy_matrix(stack, role):
    for model in ("haiku", "sonnet", "opus", "titan"):
        r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": ROLES[role]}, timeout=15,
                          json={"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
        expected = 200 if model in POLICY[role] else 403
        assert r.status_code == expected, (role, model, r.text)
        if expected == 200:
            assert r.headers["X-Bedrock-Model"] == model
