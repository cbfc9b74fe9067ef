"""OpenAI Chat's `n` when a choice fails: the client gets the failing choice's error, and the calls Bedrock
completed (and bills) are still charged, to the budget, the request's log line and its cost."""

import openai
import pytest
import requests

from tests.e2e.clients import request_line

KEY = "dev-developer-key"
ASK = [{"role": "user", "content": "Write me a long story about a lighthouse keeper."}]
OUTPUT_TOKENS = 2000


def _used(stack) -> int:
    return requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": KEY},
                        timeout=15).json()["tokens_per_day"]["used"]


def _fault(stack, **rule) -> None:
    assert stack.emulator_control("POST", "/_emulator/faults", json=rule).status_code == 200


def _answered(stack, operation) -> int:
    """Bedrock calls of sonnet that the emulator answered with a 200 (completed, billed)."""
    return len([r for r in stack.emulator_control("GET", "/_emulator/requests").json()
                if "sonnet" in r["model_id"] and r["operation"] == operation and r["status"] == 200])


@pytest.fixture()
def client(stack):
    """Long answers (2,000 output tokens a call, as in the exploratory test), put back afterwards."""
    kept = stack.emulator_control("GET", "/_emulator/settings").json()["output_tokens"]
    stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": OUTPUT_TOKENS})
    yield openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=KEY, max_retries=0)
    stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": kept})


def _one_call(stack, client):
    """What one call of the prompt uses (every choice is such a call): its usage, after it is settled."""
    raw = client.chat.completions.with_raw_response.create(model="sonnet", max_tokens=4000, messages=ASK)
    stack.harness.wait_for_log(raw.headers["X-Kong-Request-Id"])
    stack.emulator_control("DELETE", "/_emulator/requests")
    return raw.parse().usage


@pytest.mark.parametrize("rule,error", [
    ({"type": "validation", "count": 1}, openai.BadRequestError),    # one choice refused: a 400, never retried
    ({"type": "throttle", "count": 7}, openai.RateLimitError),       # one choice still throttled after its retries
])
def test_the_choices_bedrock_completed_are_charged_when_another_fails(stack, client, rule, error):
    one = _one_call(stack, client)
    assert one.completion_tokens == OUTPUT_TOKENS
    before = _used(stack)
    _fault(stack, model="sonnet", **rule)
    with pytest.raises(error) as failed:
        client.chat.completions.create(model="sonnet", max_tokens=4000, messages=ASK, n=3)
    if error is openai.RateLimitError:
        assert failed.value.response.headers["Retry-After"] == "1"          # the client's answer is unchanged
    completed = _answered(stack, "converse")
    assert 1 <= completed <= 2                                              # the fault failed one choice at least
    line = request_line(stack, failed.value.response.headers["X-Kong-Request-Id"])
    assert line["status"] == failed.value.status_code
    assert line["input_tokens"] == completed * one.prompt_tokens
    assert line["output_tokens"] == completed * OUTPUT_TOKENS
    assert float(line["cost_usd"]) > 0 and not line.get("usage_estimated")
    assert _used(stack) - before == completed * one.total_tokens          # what Bedrock billed, no more, no less


def test_streamed_choices_that_opened_are_charged_their_prompt_when_another_is_refused(stack, client):
    """The streams that did open are closed unread (the client gets the 400): each is charged as a stream cut
    before its first token, its prompt (the reservation's estimate) and nothing streamed."""
    before = _used(stack)
    _fault(stack, type="validation", count=1, model="sonnet")
    with pytest.raises(openai.BadRequestError) as failed:
        client.chat.completions.create(model="sonnet", max_tokens=4000, messages=ASK, n=3, stream=True)
    assert _answered(stack, "converse-stream") == 2
    line = request_line(stack, failed.value.response.headers["X-Kong-Request-Id"])
    assert line["status"] == 400 and line["usage_estimated"] is True
    assert line["input_tokens"] >= 2 * (len(ASK[0]["content"]) // 4) and line["output_tokens"] == 0
    assert float(line["cost_usd"]) > 0
    assert _used(stack) - before == line["input_tokens"]


def test_a_choice_stream_that_breaks_leaves_every_choices_usage_charged(stack, client):
    """A stream that breaks mid-way ends them all: each is charged what it streamed (or all Bedrock reported)."""
    before = _used(stack)
    _fault(stack, type="stream_exception", count=1, model="sonnet", after_events=3)
    raw = client.chat.completions.with_raw_response.create(model="sonnet", max_tokens=4000, messages=ASK, n=3,
                                                           stream=True)
    texts, finished = {0: "", 1: "", 2: ""}, set()
    with pytest.raises(openai.APIError):
        for chunk in raw.parse():
            for choice in chunk.choices:
                texts[choice.index] += choice.delta.content or ""
                if choice.finish_reason:
                    finished.add(choice.index)
    # a choice that finished before the break is charged what Bedrock reported for it; one cut, what it streamed
    # (which of them finishes first depends on the machine's speed)
    cut = sum(len(text) for index, text in texts.items() if index not in finished)
    line = request_line(stack, raw.headers["X-Kong-Request-Id"])
    assert line["error_type"] and line["output_tokens"] >= cut // 4 + len(finished) and cut > 0
    assert line["input_tokens"] >= 3 * (len(ASK[0]["content"]) // 4)      # every choice read the prompt
    assert float(line["cost_usd"]) > 0
    assert _used(stack) - before == line["input_tokens"] + line["output_tokens"]
