"""A client that hangs up mid-stream cancels the Bedrock call and is charged for what was produced."""

import json
import time

import requests


def _logged(stack, request_id):
    return [json.loads(line) for line in stack.harness.plugin_server_output("bedrock")
            if line.startswith("{") and request_id in line]


def test_client_disconnect_cancels_the_bedrock_stream(stack):
    # 200 tokens at 40/s: read to its end, the upstream stream would report 200 output tokens.
    stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 200, "tokens_per_second": 40})
    try:
        r = requests.post(stack.proxy_url + "/v1/messages", stream=True, timeout=30,
                          headers={"X-API-Key": "dev-developer-key"},
                          json={"model": "haiku", "max_tokens": 500, "stream": True,
                                "messages": [{"role": "user", "content": "long story"}]})
        request_id = r.headers["X-Kong-Request-Id"]
        assert any(line.startswith(b"event: content_block_delta") for line in r.iter_lines())
        r.close()
        # Kong logs at once; the relay notices the hang-up on its next write and settles then.
        deadline = time.monotonic() + 10
        while not any(e["event"] == "request" for e in _logged(stack, request_id)):
            assert time.monotonic() < deadline, "no request summary was logged"
            time.sleep(0.05)
    finally:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 12, "tokens_per_second": 0})
    logged = _logged(stack, request_id)
    cancelled = [e for e in logged if e["event"] == "stream_cancelled"]
    summary = next(e for e in logged if e["event"] == "request")
    assert cancelled and 0 < cancelled[0]["output_tokens"] < 200     # stopped reading long before the end
    assert summary["error_type"] == "ClientDisconnected"
    assert summary["output_tokens"] == cancelled[0]["output_tokens"]  # charged for what Bedrock produced
