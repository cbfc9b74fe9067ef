"""A security review's canary sweep over the paths test_no_leaks_on_new_paths does not walk: refusals from every
endpoint (count_tokens, embeddings, images, rerank, moderations, Conversations, Bedrock-native invoke and converse,
budget 429s), guardrail blocks inside documents and end-user fields, a stream Bedrock cuts mid-way, and a body
whose keys Bedrock's refusal quotes. A card number, AWS keys, a unique prompt word and the API key must reach none
of: the plugin server's output, Kong's error and access logs, Prometheus, DogStatsD, nor any response's headers
(and no refusal of the gateway's own, 403 or 429, repeats them in its body)."""

import base64
import json
import socket
import threading

import pytest
import requests

from tests.stack import GatewayStack

CARD, WORD = "4111111111111111", "quokka-canary-9a1"
AKID, SECRET = "AKIAQUOKKA000CANARY1", "wJalrXUtnFEMI/K7MDENG/bPxRfiQUOKKACANARY"
KEY, GUEST = "dev-developer-key", "dev-guest-key"   # a guest's windows are small: its long prompt is a 429
CANARIES = (CARD, WORD, AKID, SECRET, KEY, GUEST)
SECRETS = f"{WORD}: card {CARD}, key {AKID} secret {SECRET}"
DOC = base64.b64encode(f"order export\n{CARD},{AKID},{SECRET}\n".encode()).decode()


@pytest.fixture(scope="module")
def statsd():
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    received, done = [], threading.Event()

    def read():
        while not done.is_set():
            try:
                received.append(listener.recv(65535).decode("utf-8", "replace"))
            except OSError:
                pass
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    yield listener.getsockname()[1], received
    done.set()
    reader.join(2)
    listener.close()


@pytest.fixture(scope="module")
def stack(statsd):
    overrides = {"token-meter": {"dogstatsd": {"enabled": True, "host": "127.0.0.1", "port": statsd[0]}},
                 "bedrock-proxy": {"openai_response_store": {"storage": "memory", "keep_inputs": True}}}
    with GatewayStack(config_overrides=overrides) as running:
        yield running


def user(text):
    return [{"role": "user", "content": text}]


INVOKE = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "messages": user("hi")}
CALLS = [
    ("/v1/messages/count_tokens", {"model": "haiku", "messages": user(SECRETS)}),
    ("/v1/messages/count_tokens", {"model": WORD, "messages": user("hi")}),
    ("/v1/embeddings", {"model": "titan-embed", "input": [WORD, CARD]}),
    ("/v1/embeddings", {"model": WORD, "input": "x"}),
    ("/v1/images/generations", {"model": "nova-canvas", "prompt": SECRETS}),
    ("/v1/images/generations", {"model": "nova-canvas", "prompt": "cat", "size": WORD}),
    ("/v1/rerank", {"model": "cohere-rerank", "query": WORD, "documents": [CARD]}),
    ("/v1/moderations", {"input": SECRETS}),
    ("/v1/conversations", {"items": user(SECRETS)}),
    ("/v1/messages", {"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": [
        {"type": "document", "title": WORD, "source": {"type": "base64", "media_type": "text/plain", "data": DOC}},
        {"type": "text", "text": "summarise"}]}]}),
    ("/v1/messages", {"model": "haiku", "max_tokens": 8, "metadata": {"user_id": CARD}, "messages": user("hi")}),
    ("/v1/chat/completions", {"model": "haiku", "user": CARD, "messages": user("hi")}),
    ("/v1/responses", {"model": "haiku", "input": [{"role": "user", "content": [
        {"type": "input_file", "filename": "a.txt", "file_data": "data:text/plain;base64," + DOC}]}]}),
    ("/model/haiku/converse", {"messages": [{"role": "user", "content": [
        {"document": {"name": "orders", "format": "csv", "source": {"bytes": DOC}}}, {"text": "sum"}]}]}),
    ("/model/haiku/converse", {"messages": WORD}),
    ("/model/sonnet/invoke", {**INVOKE, f"inference profile {CARD} {WORD}": 1}),   # Bedrock's refusal quotes it
    ("/model/haiku/invoke", {**INVOKE, "anthropic_version": f"{WORD} {CARD}"}),
]
OVER_BUDGET = ("/v1/chat/completions", {"model": "haiku", "messages": user(f"{WORD} " * 300)})   # a guest's: a 429


@pytest.mark.timeout(120)
def test_no_canary_reaches_a_log_a_metric_a_statsd_datagram_or_a_response_header(stack, statsd):
    answers = [requests.post(stack.proxy_url + path, json=body, headers={"X-API-Key": key}, timeout=30)
               for key, (path, body) in [*((KEY, call) for call in CALLS), (GUEST, OVER_BUDGET)]]
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "stream_reset", "after_events": 3})
    with requests.post(stack.proxy_url + "/v1/messages", headers={"X-API-Key": KEY}, stream=True, timeout=30,
                       json={"model": "haiku", "max_tokens": 64, "stream": True, "messages": user(WORD)}) as cut:
        assert b"event: error" in cut.raw.read()
    answers.append(cut)
    statuses = [r.status_code for r in answers]
    assert statuses.count(403) >= 6 and 429 in statuses and 400 in statuses and 200 in statuses, statuses
    assert 502 not in statuses and 503 not in statuses and 500 not in statuses, statuses
    for r in answers:
        assert stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"], 10)
        shown = json.dumps(dict(r.headers)) + (r.text if r.status_code in (403, 429) else "")
        assert not [c for c in CANARIES if c in shown], (r.request.path_url, r.status_code, shown[:300])
    captured = {"plugin server and Kong's error log": "\n".join(stack.harness.plugin_server_output("bedrock")
                                                                + stack.harness.error_log),
                "access log": stack.access_log.read_text(),
                "Prometheus": requests.get(stack.metrics_url, timeout=5).text,
                "DogStatsD": "\n".join(statsd[1])}
    assert '"event":"guardrail_block"' in captured["plugin server and Kong's error log"]
    assert "kong.bedrock.requests:" in captured["DogStatsD"]
    for where, text in captured.items():
        assert not [c for c in CANARIES if c in text], where
