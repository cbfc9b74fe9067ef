"""GET /v1/budget through the whole stack: what a key used and has left, read without a model call."""

import time
from decimal import Decimal

import anthropic
import httpx
import openai
import requests

from tests.e2e.test_fail_closed import WithoutGuardrails
from tests.e2e.test_redis_budgets import redis_config
from tests.stack import GatewayStack

ASK = {"model": "haiku", "max_tokens": 100, "messages": [{"role": "user", "content": "tell me something"}]}
RESERVED = 100 + 5            # max_tokens + the prompt's input estimate (see test_redis_budgets)


def budget(stack, key="dev-developer-key"):
    r = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": key}, timeout=15)
    assert r.status_code == 200, r.text
    return r


def test_the_budget_moves_by_what_a_call_used_and_costs_no_model_call(stack):
    client = openai.OpenAI(base_url=stack.proxy_url + "/v1", api_key="dev-developer-key", max_retries=0)
    before = client.get("/budget", cast_to=httpx.Response).json()        # the official SDK's raw GET
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []
    assert (before["object"], before["consumer"], before["role"]) == ("gateway.budget", "dev-user-1", "developer")
    assert before["tokens_per_day"]["limit"] == 4_000_000 and before["monthly_budget_usd"]["limit"] == "10.000000"

    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    answer = claude.messages.with_raw_response.create(**ASK)
    stack.harness.wait_for_log(answer.headers["X-Kong-Request-Id"])
    after = budget(stack)
    body = after.json()

    day, month = body["tokens_per_day"], body["monthly_budget_usd"]
    assert day["used"] - before["tokens_per_day"]["used"] == int(answer.headers["X-Token-Usage-Total"])
    assert Decimal(month["used"]) - Decimal(before["monthly_budget_usd"]["used"]) == \
        Decimal(answer.headers["X-Token-Cost-USD"])
    assert day["remaining"] == day["limit"] - day["used"]
    assert Decimal(month["remaining"]) == Decimal(month["limit"]) - Decimal(month["used"])
    assert after.headers["X-RateLimit-Remaining-Tokens-Day"] == str(day["remaining"])
    assert after.headers["X-Budget-Remaining-USD"] == month["remaining"]
    now = time.time()
    assert 0 < body["tokens_per_minute"]["resets_at"] - now <= 61
    assert 0 < day["resets_at"] - now <= 86401 and month["resets_at"] >= day["resets_at"]
    assert len(stack.emulator_control("GET", "/_emulator/requests").json()) == 1   # the call, not the reads


def test_a_spent_key_still_reads_its_budget_and_an_unlimited_one_reads_nulls(stack):
    big = {**ASK, "messages": [{"role": "user", "content": "order status please " * 600}]}   # ~3k of 5,000 a minute
    first, refused = (requests.post(stack.proxy_url + "/v1/messages", json=big, timeout=15,
                                    headers={"X-API-Key": "dev-analyst-key"}) for _ in range(2))
    assert first.status_code == 200 and refused.status_code == 429
    body = budget(stack, "dev-analyst-key").json()
    assert body["role"] == "analyst" and body["tokens_per_minute"]["limit"] == 5000
    assert body["tokens_per_minute"]["remaining"] == int(refused.headers["X-RateLimit-Remaining-Tokens-Minute"]) \
        or body["tokens_per_minute"]["resets_at"] - time.time() > 59           # unless the minute just turned
    admin = budget(stack, "dev-admin-key")
    assert admin.json()["role"] == "admin" and "X-Budget-Remaining-USD" not in admin.headers
    assert [admin.json()[k] for k in ("tokens_per_minute", "tokens_per_day", "monthly_budget_usd")] == [None] * 3
    anonymous = requests.get(stack.proxy_url + "/v1/budget", timeout=15)
    assert anonymous.status_code == 401                                       # Kong's key-auth, as everywhere


def test_an_admin_reads_any_consumers_budget_and_no_one_else_can(stack):
    def read(key, consumer):
        return requests.get(stack.proxy_url + "/v1/budget", params={"consumer": consumer}, timeout=15,
                            headers={"X-API-Key": key})

    claude = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-ops-key", max_retries=0)
    spent = claude.messages.with_raw_response.create(**ASK)
    stack.harness.wait_for_log(spent.headers["X-Kong-Request-Id"])
    own = budget(stack, "dev-ops-key").json()
    seen = read("dev-admin-key", own["consumer"])
    assert seen.status_code == 200 and seen.json()["role"] == "ecommerce_ops"
    assert seen.json()["tokens_per_day"]["used"] == own["tokens_per_day"]["used"] > 0
    assert seen.json()["monthly_budget_usd"] == own["monthly_budget_usd"]
    refused = read("dev-ops-key", "admin-user")
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "consumer"
    assert "budget_readers" in refused.json()["error"]["message"]
    missing = read("dev-admin-key", "no-such-consumer-7")
    assert missing.status_code == 404 and "no-such-consumer-7" not in missing.text


class WithoutTokenMeter(WithoutGuardrails):
    skipped = "token-meter"


def test_without_token_meter_on_the_route_the_budget_is_a_404_saying_why():
    with WithoutTokenMeter() as stack:
        r = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-developer-key"}, timeout=15)
        assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
        assert "token-meter is not configured" in r.json()["error"]["message"]


def test_another_pod_reads_a_call_in_flight_from_redis_and_a_dead_redis_is_a_503(redis_server):
    port, proc = redis_server
    with GatewayStack(config_overrides=redis_config(port, 10_000)) as a, \
            GatewayStack(config_overrides=redis_config(port, 10_000)) as b:
        start = budget(b).json()["tokens_per_day"]["used"]
        a.emulator_control("POST", "/_emulator/hold")
        held = requests.post(a.proxy_url + "/v1/messages", json={**ASK, "stream": True}, stream=True, timeout=30,
                             headers={"X-API-Key": "dev-developer-key"})
        assert held.status_code == 200
        assert budget(b).json()["tokens_per_day"]["used"] == start + RESERVED   # pod B sees A's reservation
        a.emulator_control("POST", "/_emulator/release")
        held.content
        a.harness.wait_for_log(held.headers["X-Kong-Request-Id"])
        settled = budget(b).json()["tokens_per_day"]["used"] - start
        assert 0 < settled < RESERVED                                        # settled to what the call used
        proc.kill()
        proc.wait()
        down = requests.get(b.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-developer-key"}, timeout=15)
        assert down.status_code == 503 and down.json()["error"]["type"] == "server_error"
        assert down.headers["Retry-After"] == "5"
