"""The gateway on a Redis Cluster (three redis-server masters on loopback), as on ElastiCache with cluster mode
on: token-meter's budgets and bedrock-proxy's Responses store both set `cluster: true` in their `redis` record.
The official OpenAI SDK is the client."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.e2e.clients import last_sent, oa
from tests.kong_harness.harness import HarnessStartError
from tests.redis_cluster import LocalCluster
from tests.stack import GatewayStack

DAY_LIMIT = 150
"""Four calls: each reserves its max_tokens and prompt (105 tokens) and settles to what it used (17)."""
ASK = {"model": "haiku", "max_tokens": 100, "messages": [{"role": "user", "content": "tell me something"}]}


def _config(record: dict) -> dict:
    return {"token-meter": {"storage": "redis", "redis": record,
                            "limits": [{"role": "developer", "tokens_per_day": DAY_LIMIT}]},
            "bedrock-proxy": {"openai_response_store": {"storage": "redis", "redis": record, "ttl_seconds": 600,
                                                        "keep_inputs": True}}}


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """The cluster's servers, still joining."""
    running = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield running.launch()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stack(launched):
    """This module's gateway (conftest's emulator clean-up runs on it), started while the cluster joins: the
    plugins reach Redis at their first call."""
    with GatewayStack(config_overrides=_config(launched.record(timeout_ms=300))) as running:
        launched.join()
        yield running


@pytest.fixture(scope="module")
def cluster(launched, stack):
    return launched


def _stored(cluster: LocalCluster, pattern: str) -> dict[str, bytes]:
    """What the masters hold under `pattern`, all of them."""
    found = {}
    for port in cluster.ports:
        admin = cluster.admin(port)
        found.update({key.decode(): admin.get(key) for key in admin.keys(pattern)})
    return found


def _until_refused(stack: GatewayStack) -> tuple[int, openai.RateLimitError]:
    """Chat calls until the budget refuses one: the tokens charged before it, and the refusal."""
    charged = 0
    for _ in range(10):
        try:
            raw = oa(stack).chat.completions.with_raw_response.create(**ASK)
        except openai.RateLimitError as refused:
            return charged, refused
        stack.harness.wait_for_log(raw.headers["X-Kong-Request-Id"])
        charged += int(raw.headers["X-Token-Usage-Total"])
    raise AssertionError("the budget never refused a call")


def test_calls_are_charged_in_the_cluster_until_the_budget_refuses_one(cluster, stack):
    charged, refused = _until_refused(stack)
    assert refused.response.headers["X-RateLimit-Remaining-Tokens-Day"] == str(DAY_LIMIT - charged)
    assert "Daily token limit" in refused.message
    days = _stored(cluster, "kbg:{*}:d:*")                     # one subject's counters, under its hash tag
    assert list(days.values()) == [str(charged).encode()]
    budget = oa(stack).get("/budget", cast_to=httpx.Response).json()
    assert budget["tokens_per_day"]["used"] == charged


def test_a_previous_response_id_chain_is_kept_in_the_cluster(cluster, stack):
    client = oa(stack, key="dev-developer-2-key")               # its own budget, not the one spent above
    first = client.responses.create(model="sonnet", input="Remember the number 4711.", max_output_tokens=30)
    second = client.responses.create(model="sonnet", input="Which number?", previous_response_id=first.id,
                                     max_output_tokens=30)
    assert second.status == "completed"
    texts = [block["text"] for message in last_sent(stack)["body"]["messages"] for block in message["content"]
             if "text" in block]
    assert texts == ["Remember the number 4711.", first.output_text, "Which number?"]
    kept = _stored(cluster, "kbg:response:{*}:*")
    assert {key.rsplit(":", 1)[1] for key in kept} == {first.id, second.id}
    assert client.responses.retrieve(first.id).output_text == first.output_text


def test_a_cluster_with_another_database_is_refused_at_start_naming_the_field(cluster):
    """Kong refuses the file (deck sync, or the pod's start) rather than a plugin failing at its first call."""
    stack = GatewayStack(config_overrides={"token-meter": {"storage": "redis",
                                                           "redis": cluster.record(database=3)}})
    try:
        with pytest.raises(HarnessStartError) as refused:
            stack.start()
    finally:
        stack.stop()      # also when it started: its gateway and emulator would outlive the test
    assert "'database': value must be 0" in str(refused.value)
