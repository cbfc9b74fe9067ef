"""ApplyGuardrail's edges through the gateway with boto3: huge content, a client that hangs up while Bedrock is
still judging, a throttle that outlasts the retries. What the client gets, and what its month's budget says
afterwards (GET /v1/budget), with the in-memory budget store and with Redis.

The emulator's `gwdemoguard1` has one priced policy, denied topics ($0.15 per 1,000 text units): a call on one short
text block is billed one unit, $0.00015.
"""

import json
import time
from decimal import Decimal

import pytest
import requests

from kong_plugins.relay.guardrail_apply import MAX_BLOCKS
from tests.e2e.clients import bedrock_runtime, charged, sent
from tests.stack import GatewayStack

GUARD = "gwdemoguard1"
PATH = f"/guardrail/{GUARD}/version/1/apply"
KEY = "dev-developer-key"
ONE_UNIT = charged(Decimal("0.15") / 1000)
REDIS_BUDGETS = {"storage": "redis", "redis": {"host": "127.0.0.1", "timeout_ms": 300}}


def month_used(stack) -> Decimal:
    r = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": KEY}, timeout=15)
    assert r.status_code == 200
    return Decimal(r.json()["monthly_budget_usd"]["used"])


def request_summaries(stack) -> list[dict]:
    """The plugin server's `request` log lines of ApplyGuardrail calls, oldest first."""
    lines = [json.loads(line) for line in stack.harness.plugin_server_output("bedrock") if line.startswith("{")]
    return [e for e in lines if e.get("event") == "request" and e.get("model") == "apply-guardrail"]


def settled(stack, count: int, deadline_s: float = 10) -> list[dict]:
    """Wait until `count` ApplyGuardrail calls are logged (settled after the relay is done), then return them."""
    deadline = time.monotonic() + deadline_s
    while len(summaries := request_summaries(stack)) < count:
        assert time.monotonic() < deadline, "the call's request line was never logged"
        time.sleep(0.05)
    return summaries


def apply(client, content, source="INPUT"):
    return client.apply_guardrail(guardrailIdentifier=GUARD, guardrailVersion="1", source=source, content=content)


def hang_up_mid_call(stack) -> None:
    """Bedrock still judges (and bills) the text after the client is gone: the reservation settles to that."""
    before, calls = month_used(stack), len(request_summaries(stack))
    stack.emulator_control("POST", "/_emulator/faults", {"type": "slow", "delay_s": 1.0, "count": 1,
                                                         "operation": "apply-guardrail"})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(stack.proxy_url + PATH, headers={"X-API-Key": KEY}, timeout=(5, 0.3),
                      json={"source": "INPUT", "content": [{"text": {"text": "Where is order 42?"}}]})
    summary = settled(stack, calls + 1)[-1]
    assert sent(stack)[-1]["status"] == 200                        # Bedrock answered, after the hang-up
    assert Decimal(summary["cost_usd"]) == ONE_UNIT and summary["bedrock_guardrail_text_units"] == 1
    assert month_used(stack) - before == ONE_UNIT


def throttle_past_the_retries(stack) -> None:
    """Bedrock billed nothing: the worst case reserved is handed back in the store, not only left out of metrics."""
    before, calls = month_used(stack), len(request_summaries(stack))
    stack.emulator_control("POST", "/_emulator/faults", {"type": "throttle", "operation": "apply-guardrail",
                                                         "count": -1})
    client = bedrock_runtime(stack)
    try:
        with pytest.raises(client.exceptions.ThrottlingException):
            apply(client, [{"text": {"text": "x" * 5000}}])       # reserves 5 units of every policy: $0.00335
    finally:
        stack.emulator_control("DELETE", "/_emulator/faults")
    summary = settled(stack, calls + 1)[-1]
    assert summary["status"] == 429 and Decimal(summary["cost_usd"]) == 0
    assert month_used(stack) == before


@pytest.mark.timeout(60)
def test_a_client_that_hangs_up_is_billed_what_bedrock_billed_and_no_more(stack):
    hang_up_mid_call(stack)


@pytest.mark.timeout(60)
def test_a_throttle_that_outlasts_the_retries_bills_nothing_and_returns_the_reservation(stack):
    throttle_past_the_retries(stack)


@pytest.mark.timeout(90)
def test_with_redis_budgets_a_hang_up_settles_to_bedrocks_bill_and_a_lasting_throttle_to_nothing(redis_server):
    port, _ = redis_server
    budgets = {**REDIS_BUDGETS, "redis": {**REDIS_BUDGETS["redis"], "port": port}}
    with GatewayStack(config_overrides={"token-meter": budgets}) as own:
        own.emulator_control("DELETE", "/_emulator/requests")
        hang_up_mid_call(own)
        throttle_past_the_retries(own)


def test_a_call_with_more_blocks_than_the_gateway_allows_is_bedrocks_validation_exception_without_a_call(stack):
    """100,000 one-letter blocks are 100,000 billed text units per policy (each block is at least one): the
    gateway refuses such a call before it reserves, scans or sends anything, in Bedrock's shape."""
    client, calls, before = bedrock_runtime(stack), len(sent(stack)), month_used(stack)
    for blocks in (MAX_BLOCKS + 1, 100_000):
        with pytest.raises(client.exceptions.ValidationException) as refused:
            apply(client, [{"text": {"text": "a"}}] * blocks)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert f"at most {MAX_BLOCKS:,} content blocks" in refused.value.response["Error"]["Message"]
    assert len(sent(stack)) == calls and month_used(stack) == before


def test_the_most_blocks_the_gateway_allows_are_applied_and_billed_one_unit_each(stack):
    answer = apply(bedrock_runtime(stack), [{"text": {"text": "a"}}] * MAX_BLOCKS)
    assert answer["action"] == "NONE" and answer["usage"]["topicPolicyUnits"] == MAX_BLOCKS
    assert Decimal(answer["ResponseMetadata"]["HTTPHeaders"]["x-token-cost-usd"]) == charged(
        Decimal("0.15") * MAX_BLOCKS / 1000)


@pytest.mark.timeout(60)
def test_a_20_mb_text_block_is_refused_as_too_large_in_bedrocks_shape(stack):
    """Above the gateway's 10 MB body limit (Bedrock's own is 25 MB): Kong's 413, which boto3 names."""
    client, calls = bedrock_runtime(stack), len(sent(stack))
    with pytest.raises(client.exceptions.ClientError) as refused:
        apply(client, [{"text": {"text": "a" * 20_000_000}}])
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413 and error["Error"]["Code"] == "ValidationException"
    assert "too large" in error["Error"]["Message"].lower() and "aaaa" not in str(error)
    assert len(sent(stack)) == calls
