"""OpenAI background responses through the whole stack, with the official OpenAI SDK: answered at once,
run on, polled, cancelled; across two pods sharing a real redis-server."""

import json
import time

import openai
import pytest
import requests

from tests.e2e.test_response_store import store_config
from tests.stack import GatewayStack

KEY = "dev-developer-key"


def client(stack):
    return openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key=KEY, max_retries=0)


def day_used(stack):
    return requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": KEY},
                        timeout=15).json()["tokens_per_day"]["used"]


def slow(stack, seconds=1.0):
    """Bedrock answers the next haiku call after `seconds`: long enough to poll and cancel it meanwhile."""
    rule = {"type": "slow", "delay_s": seconds, "count": 1, "model": "haiku"}
    assert stack.emulator_control("POST", "/_emulator/faults", json=rule).status_code == 200


def polled(stack, response_id, until=("completed", "failed", "incomplete")):
    deadline = time.monotonic() + 15
    while True:
        response = client(stack).responses.retrieve(response_id)
        if response.status in until or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def settled(stack, away_from):
    """The budget once the background call is settled (its reservation replaced by what Bedrock reported)."""
    deadline = time.monotonic() + 15
    while (used := day_used(stack)) == away_from and time.monotonic() < deadline:
        time.sleep(0.05)
    return used


def logged_end(stack):
    """How the last background response ended, from its request log line (written once the call is done)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in stack.harness.plugin_server_output("bedrock")
                 if '"event":"request"' in line and '"background"' in line]
        if lines or time.monotonic() > deadline:
            return (lines[-1]["status"], lines[-1]["background"]) if lines else None
        time.sleep(0.05)


def test_a_background_response_answers_at_once_runs_on_and_is_polled_to_its_end(stack):
    before = day_used(stack)
    slow(stack)
    started = client(stack).responses.create(model="haiku", input="Summarise the week's orders", background=True,
                                              max_output_tokens=64)
    assert (started.status, started.background, started.output, started.usage) == ("in_progress", True, [], None)
    assert client(stack).responses.retrieve(started.id).status == "in_progress"   # Bedrock is still on it
    reserved = day_used(stack)
    assert reserved > before                                                    # reserved while it runs
    done = polled(stack, started.id)
    assert done.status == "completed" and done.output_text.startswith("Emulated reply to:")
    assert (done.id, done.created_at, done.background) == (started.id, started.created_at, True)
    assert settled(stack, reserved) - before == done.usage.total_tokens         # settled to what it used
    assert logged_end(stack) == (200, "completed")       # the client's answer was a 200; the line says how it ended


def test_a_cancelled_background_response_stays_cancelled_and_is_charged_what_it_used(stack):
    before = day_used(stack)
    slow(stack)
    started = client(stack).responses.create(model="haiku", input="A long report", background=True,
                                              max_output_tokens=64)
    reserved = day_used(stack)
    cancelled = client(stack).responses.cancel(started.id)
    assert cancelled.status == "cancelled" and cancelled.id == started.id
    assert client(stack).responses.cancel(started.id).status == "cancelled"       # again: the same
    assert 0 < settled(stack, reserved) - before < reserved - before            # Bedrock's call ran out, billed
    assert client(stack).responses.retrieve(started.id).status == "cancelled"   # its answer was not kept
    assert logged_end(stack) == (200, "cancelled")
    with pytest.raises(openai.BadRequestError) as ended:
        client(stack).responses.cancel(client(stack).responses.create(model="haiku", input="quick").id)
    assert "background: true" in ended.value.body["message"]


def test_a_failed_background_call_is_a_failed_response_with_the_error(stack):
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "validation", "count": 1, "model": "haiku"})
    started = client(stack).responses.create(model="haiku", input="x", background=True)
    failed = polled(stack, started.id)
    assert failed.status == "failed" and failed.output == []
    assert failed.error.code and "too long" in failed.error.message
    assert logged_end(stack) == (200, "failed")


def test_a_background_response_a_fallback_answers_completes_under_its_id(stack):
    """The model asked for is denied, its fallback answers: the answer used to be kept under the fallback's own id,
    so the response the client polls stayed `in_progress` forever."""
    stack.emulator_control("POST", "/_emulator/faults", json={"type": "access_denied", "count": 1, "model": "sonnet"})
    started = client(stack).responses.create(model="sonnet", input="Summarise the week's orders", background=True)
    done = polled(stack, started.id)
    assert (done.id, done.status, done.model) == (started.id, "completed", "haiku")
    assert done.output_text.startswith("Emulated reply to:")
    assert logged_end(stack) == (200, "completed")


@pytest.mark.parametrize("extra,message", [({"stream": True}, "not as a stream"), ({"store": False}, "store")])
def test_background_that_cannot_be_polled_is_a_400_naming_background(stack, extra, message):
    r = requests.post(stack.proxy_url + "/v1/responses", headers={"X-API-Key": KEY}, timeout=15,
                      json={"model": "haiku", "input": "x", "background": True, **extra})
    assert r.status_code == 400 and r.json()["error"]["param"] == "background"
    assert message in r.json()["error"]["message"]
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_another_pod_polls_and_cancels_a_background_response_running_on_the_first(redis_server):
    port, _ = redis_server
    config = store_config("redis", redis={"host": "127.0.0.1", "port": port, "timeout_ms": 300})
    with GatewayStack(config_overrides=config) as a, GatewayStack(config_overrides=config) as b:
        slow(a, 1.5)
        started = client(a).responses.create(model="haiku", input="Runs on pod A", background=True)
        assert client(b).responses.retrieve(started.id).status == "in_progress"
        assert client(b).responses.cancel(started.id).status == "cancelled"
        time.sleep(2.0)                                            # pod A's call has ended and looked first
        assert client(b).responses.retrieve(started.id).status == "cancelled"
        finished = client(a).responses.create(model="haiku", input="Also on A", background=True)
        assert polled(b, finished.id).status == "completed"        # polled from pod B to its end


def test_a_background_call_on_a_conversation_joins_it_once_done():
    with GatewayStack(config_overrides=store_config("memory", keep_inputs=True)) as stack:
        conversation = client(stack).conversations.create(items=[{"role": "user", "content": "Order 7 is late."}])
        slow(stack, 3.0)   # long enough that the listing below comes while it runs, however busy the machine
        started = client(stack).responses.create(model="haiku", input="What about order 7?", background=True,
                                                  conversation=conversation.id)
        assert started.conversation.id == conversation.id
        listed = client(stack).conversations.items.list(conversation.id, order="asc")
        assert len(listed.data) == 1                                # not joined while it runs
        assert polled(stack, started.id).status == "completed"
        items = client(stack).conversations.items.list(conversation.id, order="asc").data
        assert [item.type for item in items] == ["message", "message", "message"]   # its input and output joined
        assert items[2].role == "assistant"
