"""OpenAI SDK, count_tokens and the model list through the whole stack."""

import base64
import json

import anthropic
import openai
import pytest
import requests

from tests.e2e.clients import oa

# A 1x1 PNG.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f8cfc0f01f0005000201e2ed67a10000000049454e44ae426082")).decode()
TOOL = {"type": "function", "function": {"name": "get_order_status", "description": "Status of an order",
                                         "parameters": {"type": "object", "properties": {"order_id": {
                                             "type": "string"}}, "required": ["order_id"]}}}



def test_openai_sdk_chat(stack):
    completion = oa(stack).chat.completions.create(
        model="sonnet", max_tokens=50,
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello there"}])
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage.prompt_tokens > 0 and completion.usage.total_tokens == \
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    sent = stack.emulator_control("GET", "/_emulator/requests").json()[-1]
    assert sent["operation"] == "converse" and sent["body"]["system"] == [{"text": "Be terse."},
                                                                 {"cachePoint": {"type": "default"}}]


def test_openai_sdk_stream_with_usage(stack):
    stream = oa(stack).chat.completions.create(
        model="haiku", max_tokens=50, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Stream to me"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_openai_sdk_tools(stack):
    completion = oa(stack).chat.completions.create(
        model="sonnet", max_tokens=100, tools=[TOOL], tool_choice="required",
        messages=[{"role": "user", "content": "Where is order 42?"}])
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_order_status" and "order_id" in json.loads(call.function.arguments)
    follow_up = oa(stack).chat.completions.create(
        model="sonnet", max_tokens=100, tools=[TOOL],
        messages=[{"role": "user", "content": "Where is order 42?"},
                  {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                  {"role": "tool", "tool_call_id": call.id, "content": "shipped"}])
    assert follow_up.choices[0].message.content


def test_openai_sdk_image(stack):
    completion = oa(stack).chat.completions.create(
        model="sonnet", max_tokens=50,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
    assert completion.choices[0].message.content
    sent = stack.emulator_control("GET", "/_emulator/requests").json()[-1]
    assert sent["body"]["messages"][0]["content"][1]["image"]["format"] == "png"


def test_openai_errors_are_in_openai_format(stack):
    with pytest.raises(openai.PermissionDeniedError) as denied:
        oa(stack, key="dev-guest-key").chat.completions.create(
            model="sonnet", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert denied.value.body["code"] == "model_not_allowed"
    with pytest.raises(openai.NotFoundError):
        oa(stack).chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as bad:
        oa(stack).chat.completions.create(model="sonnet", n=12, messages=[{"role": "user", "content": "x"}])
    assert bad.value.body["param"] == "n"


def test_models_list_filtered_by_role(stack):
    assert {m.id for m in oa(stack, key="dev-analyst-key").models.list()} == {"haiku", "titan", "titan-embed",
                                                                              "cohere-embed", "cohere-rerank"}
    assert {m.id for m in oa(stack, key="dev-admin-key").models.list()} == {
        "haiku", "sonnet", "opus", "opus-4-7", "gemini-flash", "titan", "titan-embed", "cohere-embed", "cohere-rerank",
        "nova-canvas", "stable-image-core"}


def test_model_lists_in_each_sdks_format(stack):
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    listed = claude.models.list()
    assert [(m.id, m.display_name) for m in listed.data] == [("claude-haiku-4-5", "Claude Haiku 4.5"),
                                                             ("claude-sonnet-4-5", "Claude Sonnet 4.5")]
    assert listed.data[0].created_at.isoformat() == "2025-10-01T00:00:00+00:00"
    # the SDK's auto-pagination follows has_more / last_id page by page
    assert [m.id for m in claude.models.list(limit=1)] == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    assert claude.models.retrieve("sonnet").id == "claude-sonnet-4-5"
    with pytest.raises(anthropic.NotFoundError) as hidden:
        claude.models.retrieve("claude-opus-4-5")
    assert hidden.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError):
        claude.models.list(limit=0)
    assert oa(stack, key="dev-developer-key").models.retrieve("claude-haiku-4-5").id == "haiku"
    with pytest.raises(openai.NotFoundError) as not_found:
        oa(stack, key="dev-developer-key").models.retrieve("opus")
    assert not_found.value.body["code"] == "model_not_found"


def test_count_tokens(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    counted = client.messages.count_tokens(model="sonnet", messages=[{"role": "user", "content": "count " * 50}])
    created = client.messages.create(model="sonnet", max_tokens=5,
                                     messages=[{"role": "user", "content": "count " * 50}])
    assert counted.input_tokens == created.usage.input_tokens   # Bedrock CountTokens agrees with the call
    r = requests.post(stack.proxy_url + "/v1/messages/count_tokens", headers={"X-API-Key": "dev-admin-key"},
                      json={"model": "titan", "messages": [{"role": "user", "content": "x" * 400}]}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Token-Count-Estimate"] == "true"
    assert r.json() == {"input_tokens": 100}


def test_responses_input_tokens(stack):
    """OpenAI's `responses.input_tokens.count`: Bedrock CountTokens on Claude, agreeing with the call's usage; a
    labelled estimate elsewhere; refusals in OpenAI's format."""
    client = oa(stack, key="dev-admin-key")
    request = dict(model="sonnet", instructions="Be terse.", input="count " * 50, tools=[
        {"type": "function", "name": "get_order_status", "parameters": TOOL["function"]["parameters"]}])
    counted = client.responses.input_tokens.count(**request)
    assert counted.object == "response.input_tokens"
    assert stack.emulator_control("GET", "/_emulator/requests").json()[-1]["operation"] == "count-tokens"
    created = client.responses.create(**request, max_output_tokens=16)
    assert counted.input_tokens == created.usage.input_tokens > 50
    r = requests.post(stack.proxy_url + "/v1/responses/input_tokens", headers={"X-API-Key": "dev-admin-key"},
                      json={"model": "titan", "input": "x" * 400}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Token-Count-Estimate"] == "true"
    assert r.json() == {"object": "response.input_tokens", "input_tokens": 100}
    with pytest.raises(openai.PermissionDeniedError):        # a model the role may not use
        oa(stack).responses.input_tokens.count(model="opus", input="hi")
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.input_tokens.count(model="sonnet", input=[{"role": "user", "content": 5}])
    assert refused.value.body["param"].startswith("input.0")
    r = requests.get(stack.proxy_url + "/v1/responses/input_tokens", headers={"X-API-Key": "dev-admin-key"}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"


def test_seed_alias_routes(stack):
    r = requests.post(stack.proxy_url + "/v1/chat/haiku", headers={"X-API-Key": "dev-developer-key"}, timeout=10,
                      json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and r.json()["object"] == "chat.completion"
    assert r.headers["X-Bedrock-Model"] == "haiku"
    d = requests.post(stack.proxy_url + "/v1/chat", headers={"X-API-Key": "dev-analyst-key"}, timeout=10,
                      json={"messages": [{"role": "user", "content": "hi"}]})
    assert d.status_code == 200 and d.headers["X-Bedrock-Model"] == "haiku"


def test_openai_client_on_titan(stack):
    completion = oa(stack, key="dev-analyst-key").chat.completions.create(
        model="titan", max_tokens=20, messages=[{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": "Hello Titan"}])
    assert completion.choices[0].message.content and completion.usage.prompt_tokens > 0
    sent = stack.emulator_control("GET", "/_emulator/requests").json()[-1]
    assert sent["operation"] == "converse" and sent["model_id"] == "amazon.titan-text-express-v1"
    assert "additionalModelRequestFields" not in sent["body"]


def test_an_anthropic_client_on_a_converse_model_is_told_which_stop_sequence_ended_the_answer(stack):
    """Converse reports that a stop sequence ended the answer, not which one: with one named, it is that one
    (stop_sequence was null beside stop_reason "stop_sequence", which the Anthropic API never sends)."""
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-analyst-key", max_retries=0)
    ask = {"model": "titan", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello Titan"}]}
    text = claude.messages.create(**ask).content[0].text
    word = text.split()[1]                       # a word the emulator's answer goes on past
    message = claude.messages.create(**ask, stop_sequences=[word])
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", word)
    with claude.messages.stream(**ask, stop_sequences=[word]) as stream:
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", word)
    two = claude.messages.create(**ask, stop_sequences=[word, "never said"])
    assert (two.stop_reason, two.stop_sequence) == ("stop_sequence", None)     # Converse does not say which


def test_count_tokens_with_thinking_enabled(stack):
    """Anthropic's count_tokens takes `thinking` and no max_tokens; the CountTokens body's placeholder max_tokens
    (1) was below the thinking budget, which Claude refuses: every such count was a 400 the client could not fix."""
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    ask = [{"role": "user", "content": "count " * 50}]
    thinking = {"type": "enabled", "budget_tokens": 1024}
    counted = client.messages.count_tokens(model="sonnet", messages=ask, thinking=thinking)
    assert counted.input_tokens == client.messages.count_tokens(model="sonnet", messages=ask).input_tokens


def test_each_sdk_reads_the_gateways_request_id_from_answers_and_errors(stack):
    """OpenAI's and Anthropic's SDKs keep a response's id (`_request_id`, quoted in their errors) from x-request-id
    and request-id: the gateway's id, which its request log and Kong's access log carry (it was None)."""
    ask = [{"role": "user", "content": "hi"}]
    raw = oa(stack).chat.completions.with_raw_response.create(model="haiku", max_tokens=8, messages=ask)
    assert raw.parse()._request_id == raw.headers["X-Kong-Request-Id"]
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    answer = claude.messages.with_raw_response.create(model="haiku", max_tokens=8, messages=ask)
    assert answer.parse()._request_id == answer.headers["X-Kong-Request-Id"]
    with pytest.raises(openai.NotFoundError) as refused:           # answered by a plugin, not the relay
        oa(stack).chat.completions.create(model="no-such-model", max_tokens=8, messages=ask)
    assert refused.value.request_id == refused.value.response.headers["X-Kong-Request-Id"]
