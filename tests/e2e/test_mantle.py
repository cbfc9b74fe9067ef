"""Claude Opus 4.7+ through Bedrock Mantle (Anthropic Messages API, SigV4 service bedrock-mantle)."""

import json

import anthropic
import openai
import requests

ASK = [{"role": "user", "content": "Hello Mantle"}]


def sdk(stack):
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)


def mantle_calls(stack):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json()
            if r["operation"].startswith("mantle-")]


def test_anthropic_client_on_mantle(stack):
    message = sdk(stack).messages.create(model="claude-opus-4-7", max_tokens=64, messages=ASK)
    assert message.content[0].text and message.usage.output_tokens > 0
    call = mantle_calls(stack)[-1]
    assert call["operation"] == "mantle-messages" and call["body"]["model"] == "anthropic.claude-opus-4-7"
    # a Bedrock model id is accepted as the model name, as Claude Code's Mantle mode sends it
    again = sdk(stack).messages.create(model="anthropic.claude-opus-4-7", max_tokens=16, messages=ASK)
    assert again.content[0].text


def test_anthropic_stream_on_mantle_and_betas_forwarded(stack):
    client = sdk(stack)
    with client.beta.messages.stream(model="opus-4-7", max_tokens=64, messages=ASK,
                                     betas=["context-management-2025-06-27"]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.usage.output_tokens > 0
    assert "context-management-2025-06-27" in mantle_calls(stack)[-1]["headers"]["anthropic-beta"]


def test_openai_client_on_mantle(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key", max_retries=0)
    completion = client.chat.completions.create(model="opus-4-7", max_tokens=32, messages=ASK)
    assert completion.choices[0].message.content and completion.usage.completion_tokens > 0
    chunks = list(client.chat.completions.create(model="opus-4-7", max_tokens=32, messages=ASK, stream=True,
                                                 stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage.completion_tokens > 0


def test_count_tokens_on_mantle(stack):
    counted = sdk(stack).messages.count_tokens(model="opus-4-7", messages=ASK)
    assert counted.input_tokens > 0 and mantle_calls(stack)[-1]["operation"] == "mantle-count-tokens"


def test_mantle_errors_in_the_callers_format(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "throttle", "count": -1,
                                                              "operation": "mantle-messages"})
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-admin-key"}, timeout=30,
                      json={"model": "opus-4-7", "max_tokens": 16, "messages": ASK})
    # throttled on Mantle, retried, then served by the fallback (opus, InvokeModel)
    assert r.status_code == 200 and r.headers["X-Bedrock-Fallback-From"] == "opus-4-7"
    stack.emulator_control("DELETE", "/_emulator/faults")
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "stream_exception", "after_events": 3,
                                                              "operation": "mantle-messages"})
    s = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-admin-key"}, timeout=30,
                      json={"model": "opus-4-7", "max_tokens": 16, "stream": True, "messages": ASK})
    events = [b for b in s.content.decode().split("\n\n") if b.strip()]
    assert events[-1].startswith("event: error")
    assert json.loads(events[-1].split("data: ", 1)[1])["type"] == "error"
