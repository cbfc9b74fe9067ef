"""A call the gateway stops waiting for: the client's 504, and the call charged as planned, since Bedrock runs
on to its end and bills it."""

import json
import time

import requests

from tests.stack import GatewayStack

HEADERS = {"X-API-Key": "dev-developer-key"}


def test_a_read_timeout_is_a_504_and_is_charged_as_planned():
    with GatewayStack(extra_start_args="--bedrock-read-timeout 0.5") as stack:
        def day_used():
            return requests.get(stack.proxy_url + "/v1/budget", headers=HEADERS,
                                timeout=15).json()["tokens_per_day"]["used"]

        before = day_used()
        stack.emulator_control("POST", "/_emulator/faults", json={"type": "slow", "delay_s": 1.5, "model": "haiku"})
        r = requests.post(stack.proxy_url + "/v1/chat/completions", headers=HEADERS, timeout=15, json={
            "model": "haiku", "max_tokens": 300, "messages": [{"role": "user", "content": "x" * 400}]})
        assert r.status_code == 504
        request_id = r.headers["X-Kong-Request-Id"]
        deadline = time.monotonic() + 10
        while not (lines := [json.loads(line) for line in stack.harness.plugin_server_output("bedrock")
                             if request_id in line and '"event":"request"' in line]):
            assert time.monotonic() < deadline, "no request summary was logged"
            time.sleep(0.05)
        summary = lines[0]
        assert summary["error_type"] == "ReadTimeout" and summary["usage_estimated"] is True
        assert summary["output_tokens"] == 300 and summary["input_tokens"] >= 100   # max_tokens, the prompt estimate
        assert day_used() - before == summary["input_tokens"] + 300
        assert len(stack.emulator_control("GET", "/_emulator/requests").json()) == 1   # never retried
        metrics = requests.get(stack.metrics_url, timeout=5).text
        assert 'kong_bedrock_usage_estimated_total{error_type="ReadTimeout",model="haiku",role="developer"} 1.0' \
            in metrics
