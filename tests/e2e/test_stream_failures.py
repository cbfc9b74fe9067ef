"""How a Bedrock stream that fails reaches each client: as Bedrock's own failures would, so the SDKs retry or raise.

- In its first frame (a 200 whose first frame is a throttlingException): nothing has gone out, so the gateway
  handles it as the HTTP error it stands for: retried by its retry policy, then the role's fallback model
  (tests/e2e/test_retries_and_fallbacks.py), and only when all fail the client gets the error's HTTP status in its
  format, which its SDK retries (it was a 200 carrying an error event: the OpenAI and Anthropic SDKs raised
  without retrying, and the Responses helper failed on a response.failed with no response.created before it).
- A native stream that breaks off between frames ends with an exception frame, which boto3 and the Anthropic
  Bedrock SDK raise (it ended cleanly: a short answer, and Claude Code did not fall back to /invoke); inside a
  frame, the client's response is cut too.
"""

import json

import anthropic
import boto3
import openai
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import EventStreamError

from tests.e2e.clients import bedrock_runtime, metric, metric_reaches

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
THROTTLED_FIRST = {"type": "stream_exception", "exception": "throttlingException", "after_events": 0}
"""One call's stream refused in its first frame (count 1: the next call is served)."""
GATEWAY_ATTEMPTS = 3
"""The gateway's attempts per model (the plugin server's --bedrock-max-attempts)."""
STREAMS = ("converse-stream", "invoke-with-response-stream", "mantle-messages")
HI = [{"role": "user", "content": "hi"}]


def _calls(stack, operation):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if r["operation"] == operation]


def _streams_sent(stack):
    return sum(len(_calls(stack, operation)) for operation in STREAMS)


def _openai_chat(stack, key="dev-developer-key", model="haiku", retries=0):
    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=key, max_retries=retries)
    chunks = gpt.chat.completions.create(model=model, max_tokens=16, stream=True, messages=HI)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _openai_responses(stack, key="dev-developer-key", model="haiku", retries=0):
    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=key, max_retries=retries)
    with gpt.responses.stream(model=model, input="hello", max_output_tokens=16) as events:
        return events.get_final_response().output_text


def _anthropic(stack, key="dev-developer-key", model="haiku", retries=0):
    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key=key, max_retries=retries)
    with claude.messages.stream(model=model, max_tokens=16, messages=HI) as stream:
        return stream.get_final_message().content[0].text


def _converse_stream(stack, key="dev-developer-key", model=HAIKU, retries=0):
    events = bedrock_runtime(stack, key).converse_stream(modelId=model,
                                                          messages=[{"role": "user", "content": [{"text": "hi"}]}])
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events["stream"]
                   if "contentBlockDelta" in e)


def _invoke_stream(stack, key="dev-developer-key", model=HAIKU, retries=0):
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": HI})
    chunks = [json.loads(e["chunk"]["bytes"]) for e in
              bedrock_runtime(stack, key).invoke_model_with_response_stream(modelId=model, body=body)["body"]]
    assert chunks[0]["type"] == "message_start" and chunks[-1]["type"] == "message_stop"
    return "".join(c["delta"].get("text", "") for c in chunks if c["type"] == "content_block_delta")


CLIENTS = {"openai-chat": _openai_chat, "openai-responses": _openai_responses, "anthropic": _anthropic,
           "bedrock-converse-stream": _converse_stream, "bedrock-invoke-stream": _invoke_stream}


@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_a_throttle_in_the_first_frame_is_retried_by_the_gateway(stack, client):
    """The client's SDK retries nothing (max_retries=0, boto3's retries off) and gets the whole stream: the
    gateway called Bedrock again, as it does on an HTTP 429 (a native stream still byte for byte: boto3 checks
    every frame's CRC)."""
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)
    assert client(stack).startswith("Emulated")
    assert _streams_sent(stack) == 2


def test_a_throttle_in_the_first_frame_of_a_mantle_stream_is_retried_by_the_gateway(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "operation": "mantle-messages"})
    assert _anthropic(stack, key="dev-admin-key", model="opus-4-7").startswith("Emulated")
    assert len(_calls(stack, "mantle-messages")) == 2 and _streams_sent(stack) == 2


@pytest.mark.parametrize("exception", ["serviceUnavailableException", "internalServerException"])
def test_other_transient_refusals_in_the_first_frame_are_retried_too(stack, exception):
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "exception": exception})
    assert _openai_chat(stack).startswith("Emulated")
    assert _streams_sent(stack) == 2


@pytest.mark.parametrize("path, body, error_type", [
    ("/v1/chat/completions", {"model": "haiku", "stream": True, "messages": HI}, "rate_limit_exceeded"),
    ("/v1/messages", {"model": "haiku", "max_tokens": 8, "stream": True, "messages": HI}, "rate_limit_error"),
], ids=["openai", "anthropic"])
def test_throttled_in_every_first_frame_the_client_gets_its_own_429(stack, path, body, error_type):
    """The gateway gave up after its retries (haiku has no fallback): the status, body and Retry-After are the
    client's own, as for Bedrock's HTTP 429, and the request counts as that error in the metrics."""
    series = 'kong_bedrock_errors_total{error_type="ThrottlingException",model="haiku",role="developer"}'
    before = metric(stack, series)
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": -1})
    r = requests.post(stack.proxy_url + path, json=body, headers={"X-API-Key": "dev-developer-key"}, timeout=30)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and "x-should-retry" not in r.headers
    assert r.headers["Content-Type"].startswith("application/json")
    error = r.json()["error"]
    assert error_type in (error.get("type"), error.get("code"))
    assert _streams_sent(stack) == GATEWAY_ATTEMPTS
    assert metric_reaches(stack, series, before + 1)


def test_throttled_in_every_first_frame_a_native_client_gets_bedrocks_throttling_exception(stack):
    """As Bedrock's own HTTP 429 reaches boto3 (whose standard retries would retry it)."""
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": -1})
    runtime = bedrock_runtime(stack)
    with pytest.raises(runtime.exceptions.ThrottlingException) as throttled:
        runtime.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert _streams_sent(stack) == GATEWAY_ATTEMPTS


@pytest.mark.parametrize("client", [_openai_chat, _openai_responses, _anthropic],
                         ids=["openai-chat", "openai-responses", "anthropic"])
def test_when_the_gateway_gives_up_each_sdk_retries_the_429(stack, client):
    """Every attempt of the gateway throttled, then Bedrock serves: the SDK's own retry (max_retries=1) gets it."""
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": GATEWAY_ATTEMPTS})
    assert client(stack, retries=1).startswith("Emulated")
    assert _streams_sent(stack) == GATEWAY_ATTEMPTS + 1


@pytest.mark.parametrize("client, status", [(_openai_chat, openai.BadRequestError),
                                            (_anthropic, anthropic.BadRequestError)], ids=["openai", "anthropic"])
def test_a_validation_exception_in_the_first_frame_is_not_retried(stack, client, status):
    """As Bedrock's HTTP 400: the client's 400 with Bedrock's words, after one call."""
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "exception": "validationException",
                                                              "count": -1})
    with pytest.raises(status) as refused:
        client(stack, retries=2)
    assert "too long" in str(refused.value)
    assert _streams_sent(stack) == 1


def test_a_native_validation_exception_in_the_first_frame_is_bedrocks_validation_exception(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "exception": "validationException",
                                                              "count": -1})
    runtime = bedrock_runtime(stack)
    with pytest.raises(runtime.exceptions.ValidationException):
        _invoke_stream(stack)
    assert _streams_sent(stack) == 1


def test_a_model_stream_error_in_the_first_frame_is_not_retried(stack):
    """As Bedrock's ModelErrorException (424), which the gateway does not retry: a 502."""
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": -1,
                                                              "exception": "modelStreamErrorException"})
    r = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"},
                      json={"model": "haiku", "stream": True, "messages": HI}, timeout=30)
    assert r.status_code == 502 and r.json()["error"]["type"] == "server_error"
    assert _streams_sent(stack) == 1


def test_a_native_model_stream_error_in_the_first_frame_is_bedrocks_424_which_boto3_does_not_rerun(stack):
    """Bedrock's own HTTP form of it (InvokeModelWithResponseStream's ModelStreamErrorException, 424): boto3, with
    its default retries on, runs the call once. It was a 502 InternalServerException, which boto3 retried twice:
    three runs at Bedrock of a call the gateway itself does not retry."""
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": -1,
                                                              "exception": "modelStreamErrorException"})
    retrying = boto3.client("bedrock-runtime", endpoint_url=stack.proxy_url, region_name="us-east-1",
                            aws_access_key_id="client-side-not-used", aws_secret_access_key="client-side-not-used",
                            config=Config(retries={"mode": "standard"}))
    retrying.meta.events.register("before-send.bedrock-runtime.*",
                                  lambda request, **_: request.headers.__setitem__("X-API-Key", "dev-developer-key"))
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": HI})
    with pytest.raises(retrying.exceptions.ModelStreamErrorException) as failed:
        retrying.invoke_model_with_response_stream(modelId=HAIKU, body=body)
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert failed.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert _streams_sent(stack) == 1


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


def _ask_long(stack):
    body = {"model": "haiku", "max_tokens": 16, "stream": True,
            "messages": [{"role": "user", "content": "order status please " * 500}]}
    answer = requests.post(stack.proxy_url + "/v1/messages", json=body, timeout=30,
                           headers={"X-API-Key": "dev-developer-key"})
    assert stack.harness.wait_for_log(answer.headers["X-Kong-Request-Id"], 10)
    return answer


def test_a_stream_refused_in_every_first_frame_is_billed_as_the_http_error_would_be(stack):
    """Nothing: Bedrock bills no throttled call. It was charged the whole prompt, and with the SDKs retrying the
    429, each retry charged it again (a Claude Code call three times over)."""
    before = _day_used(stack)
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": -1})
    assert _ask_long(stack).status_code == 429
    assert _day_used(stack) == before and _streams_sent(stack) == GATEWAY_ATTEMPTS


def test_a_stream_the_gateway_retried_is_billed_once(stack):
    """The refused attempt bills nothing, the one that answered what it used: as much as the same call unrefused."""
    before = _day_used(stack)
    assert _ask_long(stack).status_code == 200
    once = _day_used(stack) - before
    assert once > 0
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)
    retried = _ask_long(stack)
    assert retried.status_code == 200 and retried.text.rstrip().endswith('data: {"type":"message_stop"}')
    assert _day_used(stack) - before == 2 * once


def test_n_streams_refused_in_every_first_frame_are_the_errors_status_too(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={**THROTTLED_FIRST, "count": -1})
    r = requests.post(stack.proxy_url + "/v1/chat/completions", headers={"X-API-Key": "dev-developer-key"},
                      json={"model": "haiku", "n": 2, "stream": True, "messages": HI}, timeout=30)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert _streams_sent(stack) == 2 * GATEWAY_ATTEMPTS   # each choice's own retries


def test_an_n_stream_refused_in_its_first_frame_is_retried_by_the_gateway(stack):
    stack.emulator_control("POST", "/_emulator/faults", json=THROTTLED_FIRST)
    gpt = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    texts = {0: "", 1: ""}
    for chunk in gpt.chat.completions.create(model="haiku", n=2, max_tokens=16, stream=True, messages=HI):
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    assert all(text.startswith("Emulated") for text in texts.values())
    assert _streams_sent(stack) == 3
