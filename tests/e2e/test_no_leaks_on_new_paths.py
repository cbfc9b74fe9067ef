"""Planted canaries through the paths added last (OpenAI `n` streams, background responses, budget reads, a
read timeout): neither the prompt nor the API key reaches the plugin server's log, Kong's error log or the
metrics."""

import time

import openai
import requests

PROMPT_CANARY = "canary-prompt-5c2e7d"
KEY = "dev-developer-key"


def test_no_prompt_or_key_in_logs_or_metrics_on_the_new_paths(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=KEY, max_retries=0)
    ask = [{"role": "user", "content": f"Say hello ({PROMPT_CANARY})"}]
    for _ in client.chat.completions.create(model="haiku", max_tokens=16, messages=ask, n=2, stream=True):
        pass
    client.chat.completions.create(model="haiku", max_tokens=16, messages=ask, n=2)
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "validation", "count": 1, "model": "haiku"})
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "slow", "delay_s": 1.0, "count": 1,
                                                              "model": "haiku"})   # still running when cancelled
    failed = client.responses.create(model="haiku", input=f"Report ({PROMPT_CANARY})", background=True)
    started = client.responses.create(model="haiku", input=f"Report ({PROMPT_CANARY})", background=True)
    client.responses.cancel(started.id)
    deadline = time.monotonic() + 10
    while client.responses.retrieve(failed.id).status == "in_progress" and time.monotonic() < deadline:
        time.sleep(0.05)
    requests.get(stack.proxy_url + "/v1/budget", params={"consumer": PROMPT_CANARY}, timeout=15,
                 headers={"X-API-Key": "dev-admin-key"})
    time.sleep(1.5)                                               # the background calls' log lines
    captured = "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)
    captured += requests.get(stack.metrics_url, timeout=5).text
    assert '"event":"request"' in captured
    for canary in (PROMPT_CANARY, KEY, "dev-admin-key"):
        assert canary not in captured, canary
