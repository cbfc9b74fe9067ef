"""OpenAI Chat's `n` through the whole stack: n Bedrock calls at once, one completion, every call billed."""

import openai
import pytest
import requests

ASK = [{"role": "user", "content": "Name a colour."}]


def converse_calls(stack, model_part="haiku"):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json()
            if model_part in r["model_id"] and r["operation"] == "converse"]


def fault(stack, **rule):
    assert stack.emulator_control("POST", "/_emulator/faults", json=rule).status_code == 200


def test_three_choices_are_three_bedrock_calls_in_one_completion_and_all_are_billed(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    one = client.chat.completions.with_raw_response.create(model="haiku", max_tokens=24, messages=ASK)
    stack.harness.wait_for_log(one.headers["X-Kong-Request-Id"])
    before = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-developer-key"},
                          timeout=15).json()["tokens_per_day"]["used"]
    stack.emulator_control("DELETE", "/_emulator/requests")

    raw = client.chat.completions.with_raw_response.create(model="haiku", max_tokens=24, messages=ASK, n=3)
    completion = raw.parse()
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    assert all(choice.message.content and choice.finish_reason for choice in completion.choices)
    assert len(converse_calls(stack)) == 3                                   # one Bedrock call per choice
    single = one.parse().usage
    assert completion.usage.prompt_tokens == 3 * single.prompt_tokens       # each call read the prompt
    assert completion.usage.completion_tokens >= 3
    assert int(raw.headers["X-Token-Usage-Input"]) == completion.usage.prompt_tokens
    assert int(raw.headers["X-Token-Usage-Output"]) == completion.usage.completion_tokens
    stack.harness.wait_for_log(raw.headers["X-Kong-Request-Id"])
    after = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-developer-key"},
                         timeout=15).json()["tokens_per_day"]["used"]
    assert after - before == int(raw.headers["X-Token-Usage-Total"]) == completion.usage.total_tokens


def test_streamed_choices_interleave_under_their_indexes_and_end_with_one_usage_chunk(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    single = client.chat.completions.create(model="haiku", max_tokens=24, messages=ASK).usage
    stack.emulator_control("DELETE", "/_emulator/requests")
    texts, finished, usages = {}, {}, []
    for chunk in client.chat.completions.create(model="haiku", max_tokens=24, messages=ASK, n=3, stream=True,
                                                stream_options={"include_usage": True}):
        if chunk.usage is not None:
            usages.append(chunk.usage)
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            finished[choice.index] = choice.finish_reason or finished.get(choice.index)
    assert sorted(texts) == [0, 1, 2] and all(texts.values()) and all(finished.values())
    assert len(usages) == 1 and usages[0].prompt_tokens == 3 * single.prompt_tokens
    assert len([r for r in stack.emulator_control("GET", "/_emulator/requests").json()
                if r["operation"] == "converse-stream"]) == 3


def test_a_broken_choice_stream_ends_the_whole_stream_with_the_error(stack):
    fault = {"type": "stream_exception", "count": 1, "model": "haiku", "after_events": 2}
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    stack.emulator_control("POST", "/_emulator/faults", json=fault)
    seen = set()
    with pytest.raises(openai.APIError) as broken:              # the SDK raises on the stream's error event
        for chunk in client.chat.completions.create(model="haiku", max_tokens=24, messages=ASK, n=2, stream=True):
            seen.update(choice.index for choice in chunk.choices)
    assert "throttling" in broken.value.message and seen <= {0, 1}
    stack.emulator_control("POST", "/_emulator/faults", json=fault)
    raw = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"},
                        json={"model": "haiku", "max_tokens": 24, "messages": ASK, "n": 2, "stream": True},
                        timeout=15).text.strip().split("\n\n")
    assert raw[-1].startswith('data: {"error"') and "data: [DONE]" not in raw


def test_the_reservation_covers_every_choice(stack):
    """The analyst's 5,000 tokens a minute take one ~1,760-token call, not three."""
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-analyst-key", max_retries=0)
    long = [{"role": "user", "content": "order status please " * 350}]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="haiku", max_tokens=16, messages=long, n=3)
    assert converse_calls(stack) == []
    assert len(client.chat.completions.create(model="haiku", max_tokens=16, messages=long).choices) == 1


def test_one_failed_choice_fails_the_request_and_no_choice_falls_back(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key", max_retries=0)
    fault(stack, type="validation", count=1, model="haiku")
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="haiku", max_tokens=16, messages=ASK, n=3)
    assert refused.value.body["type"] == "invalid_request_error"
    assert len(converse_calls(stack)) == 3                                   # sent at once, none left out
    stack.emulator_control("DELETE", "/_emulator/requests")
    fault(stack, type="throttle", count=-1, model="sonnet")                # sonnet falls back to haiku alone
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="sonnet", max_tokens=16, messages=ASK, n=2)
    assert converse_calls(stack, "haiku") == [] and len(converse_calls(stack, "sonnet")) >= 2


@pytest.mark.parametrize("extra,message", [({"n": 9}, "1 to 8 choices"), ({"n": 0}, "1 to 8 choices")])
def test_choices_the_gateway_does_not_answer_are_a_400_naming_n(stack, extra, message):
    r = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"},
                      json={"model": "haiku", "max_tokens": 16, "messages": ASK, **extra}, timeout=15)
    assert r.status_code == 400 and r.json()["error"]["param"] == "n" and message in r.json()["error"]["message"]
    assert converse_calls(stack) == []
