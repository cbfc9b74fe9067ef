"""The gateway on a Redis Cluster with a replica per master (three masters, three replicas: ElastiCache with
cluster mode on and a replica per shard) through the failovers of a maintenance window, without a restart: the
consumer whose shard fails over keeps its budget and is charged until the budget refuses a call (a 429), and its
Responses chain is read across the failover; while a hung master is being taken over its consumer's calls are
served unmetered (on_store_error: allow), never a 5xx, and charged again once its replica serves the slots. The
official OpenAI SDK is the client."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.e2e.clients import last_sent, oa
from tests.redis_cluster import LocalCluster
from tests.stack import GatewayStack

DAY_LIMIT = 250
"""A few calls: each reserves its max_tokens and prompt (105 tokens) and settles to what it used."""
ASK = {"model": "haiku", "max_tokens": 100, "messages": [{"role": "user", "content": "tell me something"}]}
DOWN_MS = 500
REMAINING = "X-RateLimit-Remaining-Tokens-Day"
"""Set on a call the budget metered; a call served while Redis is unreachable (on_store_error: allow) has none."""


def _config(record: dict) -> dict:
    return {"token-meter": {"storage": "redis", "redis": record, "on_store_error": "allow",
                            "limits": [{"role": "developer", "tokens_per_day": DAY_LIMIT}]},
            "bedrock-proxy": {"openai_response_store": {"storage": "redis", "redis": record, "ttl_seconds": 600,
                                                        "keep_inputs": True}}}


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """The cluster's servers, still joining."""
    running = LocalCluster(tmp_path_factory.mktemp("cluster"), replicas=1, node_timeout_ms=1000)
    try:
        yield running.launch()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stack(launched):
    """This module's gateway, started while the cluster joins: the plugins reach Redis at their first call."""
    with GatewayStack(config_overrides=_config(launched.record(timeout_ms=300, down_ms=DOWN_MS))) as running:
        launched.join()
        yield running


@pytest.fixture()
def cluster(launched, stack):
    """The cluster, its nodes all running again after each test."""
    try:
        yield launched.settle()
    finally:
        launched.recover()


def _day_keys(cluster: LocalCluster) -> dict[str, int]:
    """The consumers' day counters the masters hold, each with its value."""
    found = {}
    for port in cluster.masters():
        admin = cluster.admin(port)
        found.update({key.decode(): int(admin.get(key)) for key in admin.keys("kbg:{*}:d:*")})
    return found


def _chat(stack: GatewayStack, key: str) -> httpx.Response:
    """One chat call, once its log line (so its settle) is written; a non-2xx other than a 429 fails the test."""
    raw = oa(stack, key=key).chat.completions.with_raw_response.create(**ASK)
    stack.harness.wait_for_log(raw.headers["X-Kong-Request-Id"])
    return raw


def _until_refused(stack: GatewayStack, key: str) -> tuple[list, openai.RateLimitError]:
    """Chat calls until the budget refuses one: the calls' answers before it, and the refusal."""
    answers = []
    for _ in range(10):
        try:
            answers.append(_chat(stack, key))
        except openai.RateLimitError as refused:
            return answers, refused
    raise AssertionError("the budget never refused a call")


def _used(stack: GatewayStack, key: str) -> int:
    return oa(stack, key=key).get("/budget", cast_to=httpx.Response).json()["tokens_per_day"]["used"]


def test_a_manual_failover_keeps_the_budget_and_the_responses_chain(cluster, stack):
    key = "dev-developer-key"
    client = oa(stack, key=key)
    known = set(_day_keys(cluster))
    first = client.responses.create(model="sonnet", input="Remember the number 4711.", max_output_tokens=30)
    [counter] = set(_day_keys(cluster)) - known
    master = cluster.port_of(counter)
    used = _used(stack, key)
    cluster.sync()
    cluster.failover(cluster.replica_of(master))                 # ElastiCache's maintenance: no write lost
    assert cluster.port_of(counter) != master and _used(stack, key) == used

    raw = client.responses.with_raw_response.create(model="sonnet", input="Which number?",
                                                    previous_response_id=first.id, max_output_tokens=30)
    stack.harness.wait_for_log(raw.headers["X-Kong-Request-Id"])
    second = raw.parse()
    assert second.status == "completed"
    texts = [block["text"] for message in last_sent(stack)["body"]["messages"] for block in message["content"]
             if "text" in block]
    assert texts == ["Remember the number 4711.", first.output_text, "Which number?"]
    assert client.responses.retrieve(first.id).output_text == first.output_text
    used = _used(stack, key)
    assert used > 0 and _day_keys(cluster)[counter] == used

    answers, refused = _until_refused(stack, key)
    assert answers and all(REMAINING in answer.headers for answer in answers)    # each metered
    charged = used + sum(int(answer.headers["X-Token-Usage-Total"]) for answer in answers)
    assert _day_keys(cluster)[counter] == charged == _used(stack, key)
    assert refused.response.headers[REMAINING] == str(DAY_LIMIT - charged)
    assert "Daily token limit" in refused.message


def test_a_hung_master_taken_over_serves_its_consumer_unmetered_then_charges_it_again(cluster, stack):
    """A master that stops answering, and its replica made master with CLUSTER FAILOVER TAKEOVER while it still
    hangs: its consumer's calls are served unmetered meanwhile (the first after one `timeout_ms`, the others at
    once), and metered again within a few calls once the replica serves the slots, down to a 429."""
    key = "dev-developer-2-key"
    known = set(_day_keys(cluster))
    charged = int(_chat(stack, key).headers["X-Token-Usage-Total"])
    [counter] = set(_day_keys(cluster)) - known
    master = cluster.port_of(counter)
    cluster.sync()
    cluster.pause(master)

    during = [_chat(stack, key) for _ in range(3)]
    assert all(answer.status_code == 200 and REMAINING not in answer.headers for answer in during)
    cluster.failover(cluster.replica_of(master), "TAKEOVER")

    deadline = time.monotonic() + 20
    while REMAINING not in (answer := _chat(stack, key)).headers:           # the breaker's down_ms, a timeout
        assert time.monotonic() < deadline, "the consumer was never metered again"
        time.sleep(DOWN_MS / 1000 / 2)
    charged += int(answer.headers["X-Token-Usage-Total"])
    answers, refused = _until_refused(stack, key)
    assert all(REMAINING in answer.headers for answer in answers)
    charged += sum(int(answer.headers["X-Token-Usage-Total"]) for answer in answers)
    assert _day_keys(cluster)[counter] == charged == _used(stack, key)     # the unmetered calls counted nothing
    assert refused.response.headers[REMAINING] == str(DAY_LIMIT - charged)
