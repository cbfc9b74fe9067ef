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


def test_no_api_key_in_kongs_access_log_on_requests_key_auth_never_authenticated(stack):
    """key-auth's hide_credentials removes the key only from requests it authenticated; file-log's
    custom_fields_by_lua (kong.yaml) keeps it out of every line: a request no route matched (a 404, a PUT on
    a POST route) and a key in the URL, which key_in_query: false refuses."""
    secret = "dev-admin-key"
    ids = []
    for method, path, headers in [("PUT", "/v1/chat/completions", {"X-API-Key": secret}),
                                  ("GET", "/no-such-route", {"apikey": secret}),
                                  ("HEAD", "/v1/models", {"x-api-key": secret}),
                                  ("POST", f"/v1/chat/completions?apikey={secret}&beta=1", {}),
                                  ("POST", f"/v1/chat/completions?X-API-Key={secret}", {})]:
        r = requests.request(method, stack.proxy_url + path, headers=headers, timeout=15,
                             json={"model": "haiku", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code in (401, 404), (method, path, r.status_code)
        if "?" in path:
            assert r.status_code == 401 and r.json()["error"]["message"] == "No API key found in request"
        ids.append(r.headers["X-Kong-Request-Id"])
    for request_id in ids:
        assert stack.harness.wait_for_log(request_id, 10)
    lines = [line for line in stack.access_log.read_text().splitlines() if any(i in line for i in ids)]
    assert len(lines) == len(ids) and not [line for line in lines if secret in line]
    assert '"uri":"\\/v1\\/chat\\/completions?apikey=REDACTED&beta=1"' in "\n".join(lines)


def test_kongs_access_log_keeps_an_allow_list_of_request_headers(stack):
    """Clients put what must not be logged in headers of their own: an Azure-style api-key, Claude Code's
    session and agent ids (the plugin server logs only well-formed ones), Bedrock's request metadata naming the
    end user. Kong's serialize() logged every header but the two key headers kong.yaml dropped."""
    card, email = "4111 1111 1111 1111", "alice.canary@example.com"
    r = requests.post(stack.proxy_url + "/v1/messages", timeout=15, headers={
        "X-API-Key": "dev-developer-key", "api-key": "dev-admin-key", "x-claude-code-session-id": card,
        "x-claude-code-agent-id": "AKIAIOSFODNN7CANARY1", "anthropic-version": "2023-06-01",
        "X-Amzn-Bedrock-Request-Metadata": '{"client_end_user": "%s"}' % email},
        json={"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    assert stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"], 10)
    line = next(line for line in stack.access_log.read_text().splitlines() if r.headers["X-Kong-Request-Id"] in line)
    for canary in (card, "AKIAIOSFODNN7CANARY1", email, "dev-admin-key", "dev-developer-key"):
        assert canary not in line, canary
    assert '"anthropic-version":"2023-06-01"' in line and '"user-agent":"python-requests' in line
