"""How a Bedrock stream that fails reaches each client: as Bedrock's own failures would, so the SDKs retry or raise.

- Before the first event (a throttle as the stream's first frame): nothing has gone out, so the client gets the
  error's HTTP status in its format, which its SDK retries (it was a 200 carrying an error event: the OpenAI and
  Anthropic SDKs raised without retrying, and the Responses helper failed on a response.failed with no
  response.created before it).
- A native stream that breaks off between frames ends with an exception frame, which boto3 and the Anthropic
  Bedrock SDK raise (it ended cleanly: a short answer, and Claude Code did not fall back to /invoke); inside a
  frame, the client's response is cut too.
"""

import anthropic
import openai
import pytest
import requests
from botocore.exceptions import EventStreamError

from tests.e2e.clients import bedrock_runtime

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
THROTTLED_FIRST = {"type": "stream_exception", "exception": "throttlingException", "after_events": 0}


def _calls(stack, operation):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if r["operation"] == operation]


def test_a_throttle_before_the_first_event_is_a_429_each_sdk_retries(stack):
    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=1)
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)      # each call's first attempt
    chunks = list(gpt.chat.completions.create(model="haiku", max_tokens=16, stream=True,
                                              messages=[{"role": "user", "content": "hello"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("Emulated")
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)
    with gpt.responses.stream(model="haiku", input="hello", max_output_tokens=16) as events:
        assert events.get_final_response().output_text.startswith("Emulated")
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=1)
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)
    with claude.messages.stream(model="haiku", max_tokens=16, messages=[{"role": "user", "content": "hi"}]) as s:
        assert s.get_final_message().content[0].text.startswith("Emulated")
    assert len(_calls(stack, "converse-stream")) + len(_calls(stack, "invoke-with-response-stream")) == 6


@pytest.mark.parametrize("path, body, error_type", [
    ("/v1/chat/completions", {"model": "haiku", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
     "rate_limit_exceeded"),
    ("/v1/messages", {"model": "haiku", "max_tokens": 8, "stream": True,
                      "messages": [{"role": "user", "content": "hi"}]}, "rate_limit_error"),
], ids=["openai", "anthropic"])
def test_the_status_body_and_retry_after_are_the_clients_own(stack, path, body, error_type):
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)
    r = requests.post(stack.proxy_url + path, json=body, headers={"X-API-Key": "dev-developer-key"}, timeout=15)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.headers["Content-Type"].startswith("application/json")
    error = r.json()["error"]
    assert error_type in (error.get("type"), error.get("code"))


def test_a_native_stream_that_breaks_off_between_frames_ends_with_an_exception_boto3_raises(stack):
    runtime = bedrock_runtime(stack)
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "stream_reset", "after_events": 3})
    events = runtime.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    seen = []
    with pytest.raises(EventStreamError) as broke:
        for event in events["stream"]:
            seen.append(next(iter(event)))
    assert broke.value.response["Error"]["Code"] == "internalServerException" and seen[0] == "messageStart"
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "stream_reset", "after_events": 2})
    body = b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": [{"role": "user", ' \
           b'"content": "hi"}]}'
    with pytest.raises(EventStreamError):
        list(runtime.invoke_model_with_response_stream(modelId=HAIKU, body=body)["body"])


def test_a_native_stream_cut_inside_a_frame_is_cut_for_the_client(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "stream_reset", "after_events": 3,
                                                            "mid_frame": True})
    r = requests.post(stack.proxy_url + f"/model/{HAIKU}/converse-stream", headers={"X-API-Key": "dev-developer-key"},
                      json={"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, stream=True, timeout=15)
    assert r.status_code == 200
    with pytest.raises(requests.exceptions.ChunkedEncodingError):   # no last chunk: the response is cut
        for _ in r.iter_content(None):
            pass


def test_an_anthropic_stream_ends_with_the_anthropic_apis_own_message_stop(stack):
    """Bedrock's InvokeModel stream puts its counts on message_stop (amazon-bedrock-invocationMetrics); the gateway
    reads them for usage, and the Anthropic client gets `{"type": "message_stop"}` as the Anthropic API sends it
    (a native client still gets Bedrock's bytes: tests/e2e/test_bedrock_native.py)."""
    r = requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": "dev-developer-key"}, timeout=15,
                      json={"model": "haiku", "max_tokens": 16, "stream": True,
                            "messages": [{"role": "user", "content": "hi"}]})
    last = r.text.strip().split("\n\n")[-1]
    assert last == 'event: message_stop\ndata: {"type":"message_stop"}'


def _day_used(stack, key="dev-developer-key"):
    r = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": key}, timeout=15)
    return r.json()["tokens_per_day"]["used"]


def test_a_stream_refused_before_its_first_event_is_billed_as_the_http_error_would_be(stack):
    """Nothing: Bedrock bills no throttled call. It was charged the whole prompt, and with the SDKs now retrying
    the 429, each retry charged it again (a Claude Code call three times over)."""
    body = {"model": "haiku", "max_tokens": 16, "stream": True,
            "messages": [{"role": "user", "content": "order status please " * 500}]}
    before = _day_used(stack)
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)
    refused = requests.post(stack.proxy_url + "/v1/messages", json=body, timeout=15,
                            headers={"X-API-Key": "dev-developer-key"})
    assert refused.status_code == 429
    assert stack.harness.wait_for_log(refused.headers["X-Kong-Request-Id"], 10)
    assert _day_used(stack) == before


def test_n_streams_refused_before_their_first_event_are_the_errors_status_too(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": -1})
    r = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"},
                      json={"model": "haiku", "n": 2, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
                      timeout=15)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
