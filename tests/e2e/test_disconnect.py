"""A client that hangs up mid-stream cancels the Bedrock call and is charged for what was produced."""

import json
import time

import requests


def _logged(stack, request_id):
    return [json.loads(line) for line in stack.harness.plugin_server_output("bedrock")
            if line.startswith("{") and request_id in line]


def _hang_up(stack, path, body, enough):
    """Stream a 200-token answer at 40 tokens/s, hang up once `enough(lines so far)`, and wait for the request's
    log line (Kong logs at once; the relay notices the hang-up on its next write and settles then)."""
    stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 200, "tokens_per_second": 40})
    try:
        r = requests.post(stack.proxy_url + path, stream=True, timeout=30, headers={"X-API-Key": "dev-developer-key"},
                          json={"model": "haiku", "max_tokens": 500, "stream": True, **body})
        request_id, lines = r.headers["X-Kong-Request-Id"], []
        for line in r.iter_lines():
            lines.append(line)
            if enough(lines):
                break
        r.close()
        deadline = time.monotonic() + 10
        while not any(e["event"] == "request" for e in _logged(stack, request_id)):
            assert time.monotonic() < deadline, "no request summary was logged"
            time.sleep(0.05)
    finally:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 12, "tokens_per_second": 0})
    logged = _logged(stack, request_id)
    return next(e for e in logged if e["event"] == "request"), logged, lines


def _streamed_text(lines):
    return "".join(choice["delta"].get("content") or "" for line in lines if line.startswith(b"data: {")
                   for choice in json.loads(line[6:]).get("choices", []))


def test_client_disconnect_cancels_the_bedrock_stream(stack):
    summary, logged, _ = _hang_up(stack, "/v1/messages", {"messages": [{"role": "user", "content": "long story"}]},
                                  lambda lines: lines[-1].startswith(b"event: content_block_delta"))
    cancelled = [e for e in logged if e["event"] == "stream_cancelled"]
    assert cancelled and 0 < cancelled[0]["output_tokens"] < 200     # stopped reading long before the end
    assert summary["error_type"] == "ClientDisconnected"
    assert summary["output_tokens"] == cancelled[0]["output_tokens"]  # charged for what Bedrock produced


def test_a_converse_stream_cut_before_its_usage_is_charged_what_it_streamed(stack):
    """ConverseStream reports usage only in its last event: an OpenAI client that hangs up before it must still
    be charged the prompt and what was streamed (it used to be charged nothing)."""
    prompt = "long story " * 40
    summary, _, lines = _hang_up(stack, "/v1/chat/completions", {"messages": [{"role": "user", "content": prompt}]},
                                 lambda lines: len(_streamed_text(lines)) > 40)
    assert summary["error_type"] == "ClientDisconnected" and summary["usage_estimated"] is True
    assert summary["input_tokens"] >= len(prompt) // 4                          # the reservation's estimate
    assert len(_streamed_text(lines)) // 4 <= summary["output_tokens"] < 200   # what was streamed, not all of it
    assert float(summary["cost_usd"]) > 0


def test_client_disconnect_cancels_every_stream_of_several_choices(stack):
    """OpenAI's `n`, streamed: one Bedrock stream per choice; a hang-up closes all of them."""
    summary, _, _ = _hang_up(stack, "/v1/chat/completions",
                             {"n": 3, "messages": [{"role": "user", "content": "long story"}]},
                             lambda lines: b'"content"' in lines[-1])
    assert summary["error_type"] == "ClientDisconnected"
    assert 0 < summary["output_tokens"] < 3 * 200 / 2                  # three streams, each stopped early
    assert summary["input_tokens"] > 0 and summary["usage_estimated"] is True
