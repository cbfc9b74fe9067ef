"""Timing knobs and hold/release, observed as gaps between received events (loose bounds)."""

from __future__ import annotations

import json
import queue
import threading
import time

import requests
from emulator_helpers import SONNET_45, claude_body

BODY = json.dumps(claude_body())


def _timed_events(client) -> list[tuple[float, dict]]:
    response = client.invoke_model_with_response_stream(modelId=SONNET_45, body=BODY)
    return [(time.monotonic(), json.loads(e["chunk"]["bytes"])) for e in response["body"]]


def test_ttft_and_tokens_per_second(emulator, client) -> None:
    emulator.update_settings(ttft_ms=300, tokens_per_second=50)
    events = _timed_events(client)
    times = {i: t for i, (t, _) in enumerate(events)}
    deltas = [i for i, (_, e) in enumerate(events) if e["type"] == "content_block_delta"]
    assert times[deltas[0]] - times[1] >= 0.2  # headers/start events first, then the TTFT gap
    assert times[deltas[-1]] - times[deltas[0]] >= 0.15  # 11 paced gaps of 20 ms
    metrics = events[-1][1]["amazon-bedrock-invocationMetrics"]
    assert metrics["firstByteLatency"] >= 250
    assert metrics["invocationLatency"] >= metrics["firstByteLatency"] + 150


def test_latency_before_headers(emulator, client) -> None:
    emulator.update_settings(latency_ms=250)
    started = time.monotonic()
    response = client.invoke_model(modelId=SONNET_45, body=BODY)
    assert time.monotonic() - started >= 0.2
    assert int(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-invocation-latency"]) >= 200


def test_settings_api(emulator) -> None:
    url = f"{emulator.url}/_emulator/settings"
    assert requests.get(url, timeout=5).json() == {"latency_ms": 0, "ttft_ms": 0, "tokens_per_second": 0,
                                                   "output_tokens": 12, "flex_latency_ms": 0, "served_tier": None}
    updated = requests.put(url, json={"output_tokens": 3, "ttft_ms": 5}, timeout=5).json()
    assert updated["output_tokens"] == 3 and updated["ttft_ms"] == 5 and updated["latency_ms"] == 0
    for bad in ({"output_tokens": 0}, {"latency_ms": -1}, {"colour": 1}, {"ttft_ms": "fast"}):
        response = requests.put(url, json=bad, timeout=5)
        assert response.status_code == 400 and "error" in response.json()
    assert requests.get(url, timeout=5).json()["output_tokens"] == 3


def test_hold_and_release(emulator, client) -> None:
    assert requests.post(f"{emulator.url}/_emulator/hold", timeout=5).json() == {"held": True}
    received: queue.Queue[dict] = queue.Queue()

    def consume() -> None:
        response = client.invoke_model_with_response_stream(modelId=SONNET_45, body=BODY)
        for event in response["body"]:
            received.put(json.loads(event["chunk"]["bytes"]))

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    seen = []
    while len([e for e in seen if e["type"] == "content_block_delta"]) < 11:
        seen.append(received.get(timeout=5))  # the first deltas arrive while the last one is held
    time.sleep(0.2)
    assert received.empty()
    assert emulator.state.hold.waiting == 1
    assert requests.get(f"{emulator.url}/_emulator/hold", timeout=5).json() == {"held": True, "waiting": 1}
    released = requests.post(f"{emulator.url}/_emulator/release", timeout=5).json()
    assert released == {"held": False, "released": 1}
    worker.join(timeout=5)
    while not received.empty():
        seen.append(received.get())
    assert [e["type"] for e in seen][-4:] == ["content_block_delta", "content_block_stop", "message_delta",
                                             "message_stop"]
    # release cleared hold mode: the next stream is not held
    assert _timed_events(client)[-1][1]["type"] == "message_stop"
