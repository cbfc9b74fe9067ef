"""Throttling, outages and denials: retries, fallback chains and truthful errors."""

import json

import requests

HEADERS = {"X-API-Key": "dev-admin-key"}


def ask(stack, model="sonnet", stream=False, api="anthropic"):
    if api == "openai":
        body = {"model": model, "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
        return requests.post(stack.proxy_url + "/v1/chat/completions", json=body, headers=HEADERS, timeout=30,
                             stream=stream)
    body = {"model": model, "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return requests.post(stack.proxy_url + "/v1/messages", json=body, headers=HEADERS, timeout=30, stream=stream)


def fault(stack, **rule):
    assert stack.emulator_control("POST", "/_emulator/faults", json=rule).status_code == 200


def calls(stack, model_part):
    return [r for r in stack.emulator_control("GET", "/_emulator/requests").json() if model_part in r["model_id"]]


def test_throttling_is_retried_then_succeeds(stack):
    fault(stack, type="throttle", count=2, model="sonnet")
    r = ask(stack)
    assert r.status_code == 200 and r.headers["X-Bedrock-Model"] == "sonnet"
    assert len(calls(stack, "sonnet")) == 3


def test_persistent_throttling_falls_back_along_the_chain(stack):
    fault(stack, type="throttle", count=-1, model="sonnet")
    r = ask(stack)
    assert r.status_code == 200
    assert r.headers["X-Bedrock-Model"] == "haiku" and r.headers["X-Bedrock-Fallback-From"] == "sonnet"


def test_throttling_everywhere_is_a_429_with_retry_after(stack):
    fault(stack, type="throttle", count=-1)
    r = ask(stack, model="haiku")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["type"] == "rate_limit_error"
    o = ask(stack, model="haiku", api="openai")
    assert o.status_code == 429 and o.json()["error"]["code"] == "rate_limit_exceeded"


def test_access_denied_falls_back_and_is_explained_when_alone(stack):
    fault(stack, type="access_denied", count=-1, model="opus")
    r = ask(stack, model="opus")
    assert r.status_code == 200 and r.headers["X-Bedrock-Model"] == "sonnet"
    fault(stack, type="access_denied", count=-1, model="haiku")
    denied = ask(stack, model="haiku")
    assert denied.status_code == 403 and "Bedrock console" in denied.json()["error"]["message"]


def test_server_errors_are_retried_and_validation_is_not(stack):
    fault(stack, type="internal", count=1, model="haiku")
    assert ask(stack, model="haiku").status_code == 200
    stack.emulator_control("DELETE", "/_emulator/requests")
    fault(stack, type="validation", count=1, model="haiku")
    r = ask(stack, model="haiku")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert len(calls(stack, "haiku")) == 1


def test_unavailable_and_model_timeout_statuses(stack):
    fault(stack, type="unavailable", count=-1)
    assert ask(stack, model="haiku").status_code == 503
    stack.emulator_control("DELETE", "/_emulator/faults")
    fault(stack, type="model_timeout", count=1, model="haiku")
    r = ask(stack, model="haiku", api="openai")
    assert r.status_code == 504 and r.json()["error"]["type"] == "server_error"


def test_exception_mid_stream_ends_the_stream_with_the_format_error_event(stack):
    fault(stack, type="stream_exception", exception="throttlingException", after_events=3, model="haiku")
    r = ask(stack, model="haiku", stream=True)
    assert r.status_code == 200
    events = [block for block in r.content.decode().split("\n\n") if block.strip()]
    assert events[0].startswith("event: message_start")
    assert events[-1].startswith("event: error")
    assert json.loads(events[-1].split("data: ", 1)[1])["error"]["type"] == "rate_limit_error"
    fault(stack, type="stream_exception", exception="modelStreamErrorException", after_events=3, model="haiku")
    o = ask(stack, model="haiku", stream=True, api="openai")
    last = [line for line in o.content.decode().split("\n\n") if line.strip()][-1]
    assert "error" in json.loads(last[len("data: "):])


def test_an_openai_answer_from_a_fallback_names_the_model_that_answered(stack):
    """OpenAI's `model` is the model that answered (LangChain's model_name, the Agents SDK's usage traces read
    it): a fallback's answer said the model asked for, though the headers and the price said the fallback."""
    fault(stack, type="throttle", count=-1, model="sonnet")
    whole = ask(stack, api="openai")
    assert whole.headers["X-Bedrock-Fallback-From"] == "sonnet" and whole.json()["model"] == "haiku"
    streamed = ask(stack, api="openai", stream=True)
    chunks = [json.loads(line[6:]) for line in streamed.iter_lines(decode_unicode=True)
              if line.startswith("data: {")]
    assert chunks and {chunk["model"] for chunk in chunks} == {"haiku"}
    unfailed = ask(stack, model="claude-haiku-4-5", api="openai")
    assert unfailed.json()["model"] == "claude-haiku-4-5"          # the name asked for, when that model answers
