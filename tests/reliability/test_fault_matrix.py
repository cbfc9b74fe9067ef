"""Bedrock misbehaving, through the whole stack: a fast, clear answer in the caller's format, no hang,
no crash, usage charged for what was produced, nothing left behind.

Retries, fallbacks, throttling bursts and in-stream exception events are in
tests/e2e/test_retries_and_fallbacks.py; this file covers what the network and
the wire can do: a response slower than the read timeout, a reset connection,
a stream cut mid-way and a corrupt event-stream frame.
"""

import json
import time

import anthropic
import openai
import pytest
import requests

from tests.reliability.test_no_leaks import _gauge
from tests.stack import GatewayStack

READ_TIMEOUT_S = 1.0
HEADERS = {"X-API-Key": "dev-admin-key"}


@pytest.fixture(scope="module")
def stack():
    with GatewayStack(extra_start_args=f"--bedrock-read-timeout {READ_TIMEOUT_S}") as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(stack):
    stack.emulator_control("DELETE", "/_emulator/faults")
    yield
    stack.emulator_control("DELETE", "/_emulator/faults")


def fault(stack, **rule):
    assert stack.emulator_control("POST", "/_emulator/faults", json={"count": -1, "model": "haiku", **rule}).ok


def summary_of(stack, request_id: str) -> dict:
    assert stack.harness.wait_for_log(request_id, timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in stack.harness.plugin_server_output("bedrock"):
            if line.startswith("{") and request_id in line and '"event":"request"' in line:
                return json.loads(line)
        time.sleep(0.05)
    raise AssertionError("no request summary was logged")


def plugin_server_pid(stack) -> int | None:
    return stack.harness.plugin_server_pids()["bedrock"]


def test_response_slower_than_the_read_timeout_is_a_504_not_a_hang(stack):
    fault(stack, type="slow", delay_s=5)
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key", max_retries=0)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    elapsed = time.monotonic() - started
    assert caught.value.status_code == 504
    assert caught.value.body["type"] == "server_error" and "time" in caught.value.body["message"]
    # one attempt per retry at most, each bounded by the read timeout: far from the client's own timeout
    assert elapsed < 4 * READ_TIMEOUT_S + 2


def test_connection_reset_before_the_answer_is_a_502_in_the_callers_format(stack):
    fault(stack, type="reset")
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-admin-key", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "api_error"


@pytest.mark.parametrize("kind", ["stream_reset", "malformed_frame"])
def test_a_stream_cut_or_corrupted_mid_way_ends_with_the_format_error_event(stack, kind):
    pid = plugin_server_pid(stack)
    fault(stack, type=kind, after_events=4)
    r = requests.post(stack.proxy_url + "/v1/messages", headers=HEADERS, timeout=30, stream=True,
                      json={"model": "haiku", "max_tokens": 64, "stream": True,
                            "messages": [{"role": "user", "content": "tell me a story"}]})
    blocks = [b for b in r.content.decode().split("\n\n") if b.strip()]
    assert r.status_code == 200 and blocks[0].startswith("event: message_start")
    assert any(b.startswith("event: content_block_delta") for b in blocks)       # text came before the cut
    assert blocks[-1].startswith("event: error")
    assert json.loads(blocks[-1].split("data: ", 1)[1])["type"] == "error"
    summary = summary_of(stack, r.headers["X-Kong-Request-Id"])
    assert summary["output_tokens"] > 0            # charged for what Bedrock produced before the cut
    assert summary["error_type"]

    stack.emulator_control("DELETE", "/_emulator/faults")
    ok = requests.post(stack.proxy_url + "/v1/messages", headers=HEADERS, timeout=30,
                       json={"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    assert ok.status_code == 200 and plugin_server_pid(stack) == pid      # the same server, still serving


def test_a_stream_that_stalls_past_the_read_timeout_ends_with_an_error_event(stack):
    stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 6, "tokens_per_second": 0.4})
    try:
        started = time.monotonic()
        r = requests.post(stack.proxy_url + "/v1/messages", headers=HEADERS, timeout=30, stream=True,
                          json={"model": "haiku", "max_tokens": 64, "stream": True,
                                "messages": [{"role": "user", "content": "slowly"}]})
        blocks = [b for b in r.content.decode().split("\n\n") if b.strip()]
        elapsed = time.monotonic() - started
    finally:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 12, "tokens_per_second": 0})
    assert blocks[-1].startswith("event: error")
    assert elapsed < 6 / 0.4          # cut at the first silent gap, not after the whole slow stream
    assert summary_of(stack, r.headers["X-Kong-Request-Id"])["error_type"]


def test_openai_stream_cut_mid_way_ends_with_an_error_chunk(stack):
    fault(stack, type="stream_reset", after_events=4)
    r = requests.post(stack.proxy_url + "/v1/chat/completions", headers=HEADERS, timeout=30, stream=True,
                      json={"model": "haiku", "max_tokens": 64, "stream": True,
                            "messages": [{"role": "user", "content": "tell me a story"}]})
    events = [line[len("data: "):] for line in r.content.decode().split("\n\n") if line.startswith("data: ")]
    assert r.status_code == 200
    assert any(json.loads(e).get("choices") for e in events if e != "[DONE]")
    assert "error" in json.loads(events[-1])


@pytest.mark.parametrize("rule, code, words", [
    ({"type": "stream_reset", "after_events": 4}, "server_error", "stream broke off"),
    ({"type": "stream_exception", "after_events": 4, "exception": "throttlingException"}, "rate_limit_exceeded",
     "throttling"),
])
def test_openai_responses_stream_that_breaks_ends_with_response_failed(stack, rule, code, words):
    """As OpenAI ends a Responses stream that failed: `response.failed`, with the error and what was finished."""
    fault(stack, **rule)
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-admin-key", max_retries=0)
    events = list(client.responses.create(model="haiku", max_output_tokens=64, stream=True,
                                          input="tell me a story"))
    types = [event.type for event in events]
    assert "response.output_text.delta" in types and "response.completed" not in types
    assert types[-1] == "response.failed" and [e.sequence_number for e in events] == list(range(len(events)))
    failed = events[-1].response
    assert failed.status == "failed" and failed.error.code == code and words in failed.error.message
    assert failed.id == events[0].response.id


def test_after_every_fault_nothing_is_left_behind(stack):
    for rule in ({"type": "slow", "delay_s": 3}, {"type": "reset"}, {"type": "stream_reset", "after_events": 3},
                 {"type": "malformed_frame", "after_events": 3}, {"type": "internal"}):
        stack.emulator_control("DELETE", "/_emulator/faults")
        fault(stack, **rule)
        r = requests.post(stack.proxy_url + "/v1/messages", headers=HEADERS, timeout=30,
                          json={"model": "haiku", "max_tokens": 8, "stream": rule["type"].startswith(("stream",
                                                                                                   "malformed")),
                                "messages": [{"role": "user", "content": "hi"}]})
        r.content  # noqa: B018
        assert r.status_code < 600 and stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"], timeout=10)
    deadline = time.monotonic() + 10
    while _gauge(stack, "kong_bedrock_live_request_contexts") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gauge(stack, "kong_bedrock_live_request_contexts") == 0
    assert _gauge(stack, "kong_bedrock_phase_handlers") == 0


def test_kong_timing_out_on_the_relay_is_logged_with_kongs_status():
    """Kong gives up on the relay (the service's read_timeout) before Bedrock answers: the relay
    never answered, so token-meter's log phase takes the status from kong.log.serialize."""
    with GatewayStack(relay_read_timeout_ms=400) as slow_kong:
        fault(slow_kong, type="slow", delay_s=1.5)
        r = requests.post(slow_kong.proxy_url + "/v1/chat/completions", headers=HEADERS, timeout=10, json={
            "model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]})
        assert r.status_code == 504
        request_id = r.headers["X-Kong-Request-Id"]
        summary = summary_of(slow_kong, request_id)     # written once the relay is done with Bedrock
        assert (summary["status"], summary["consumer"], summary["model"]) == (504, "admin-user", "haiku")
        log_calls = slow_kong.harness.request_stats(request_id)["trace"]
        assert [t["pdk_method"] for t in log_calls if t["pdk_method"]][-2:] == [
            "kong.ctx.shared.get", "kong.log.serialize"]
