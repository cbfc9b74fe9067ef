"""A Redis that stalls (a slow command, a fork, a paused VM) past token-meter's timeout, then carries on."""

import json
import os
import signal
import time

import pytest
import redis
import requests

from kong_plugins import redis_client
from tests.stack import GatewayStack

ASK = {"model": "haiku", "max_tokens": 5000, "messages": [{"role": "user", "content": "tell me something"}]}
HEADERS = {"X-API-Key": "dev-developer-key"}


def _config(port: int, on_error: str) -> dict:
    return {"token-meter": {"storage": "redis", "on_store_error": on_error,
                            "redis": {"host": "127.0.0.1", "port": port, "timeout_ms": 300},
                            "limits": [{"role": "developer", "tokens_per_day": 100_000, "monthly_budget_usd": 10}]}}


def _ask(stack: GatewayStack) -> requests.Response:
    return requests.post(stack.proxy_url + "/v1/chat/completions", json=ASK, headers=HEADERS, timeout=30)


def _used(stack: GatewayStack) -> tuple[int, str]:
    body = requests.get(stack.proxy_url + "/v1/budget", headers=HEADERS, timeout=15).json()
    return body["tokens_per_day"]["used"], body["monthly_budget_usd"]["used"]


@pytest.mark.parametrize("on_error,status", [("allow", 200), ("deny", 503)])
def test_a_reservation_redis_carries_out_after_the_timeout_is_taken_back(redis_server, on_error, status):
    """The reserve reaches a stalled Redis, times out (served unmetered, or a 503), and Redis carries it out when
    it resumes: the call's worst case (5,000 tokens of max_tokens) used to stay charged for the day and the
    month, to a caller who was refused or never metered. It is cancelled once Redis answers again."""
    port, proc = redis_server
    with GatewayStack(config_overrides=_config(port, on_error)) as stack:
        first = _ask(stack)
        assert first.status_code == 200
        stack.harness.wait_for_log(first.headers["X-Kong-Request-Id"])
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            stalled = _ask(stack)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert stalled.status_code == status
        stack.harness.wait_for_log(stalled.headers["X-Kong-Request-Id"])
        time.sleep(redis_client.DOWN_SECONDS + 0.5)    # Redis is left alone this long after the timeout
        last = _ask(stack)
        assert last.status_code == 200
        stack.harness.wait_for_log(last.headers["X-Kong-Request-Id"])
        time.sleep(0.2)
        spent = [first, last]
        tokens = sum(int(r.headers["X-Token-Usage-Total"]) for r in spent)
        dollars = sum(float(r.headers["X-Token-Cost-USD"]) for r in spent)
        day, month = _used(stack)
        assert day == tokens                              # not tokens + 5,000 and the prompt
        assert float(month) == pytest.approx(dollars, abs=1e-6)


def test_a_settle_that_timed_out_is_sent_again_and_counted_once(redis_server):
    """A settle that times out may or may not have been carried out, so it used to be dropped: when Redis never
    ran it (here a paused Redis drops the command of a client that gave up), the call stayed charged its worst
    case (5,000 tokens of max_tokens) for the day and the month. It is now sent again, and Redis adds it once."""
    port, _ = redis_server
    admin = redis.Redis(port=port)
    with GatewayStack(config_overrides=_config(port, "allow")) as stack:
        stack.emulator_control("POST", "/_emulator/hold")
        held = requests.post(stack.proxy_url + "/v1/chat/completions", json={**ASK, "stream": True,
                             "stream_options": {"include_usage": True}}, headers=HEADERS, stream=True, timeout=30)
        assert held.status_code == 200
        admin.execute_command("CLIENT", "PAUSE", 1000, "ALL")      # the settle times out (timeout_ms 300)
        stack.emulator_control("POST", "/_emulator/release")
        chunks = [json.loads(line[6:]) for line in held.iter_lines(decode_unicode=True)
                  if line.startswith("data: {")]
        held_used = chunks[-1]["usage"]["total_tokens"]
        stack.harness.wait_for_log(held.headers["X-Kong-Request-Id"])
        time.sleep(1.0 + redis_client.DOWN_SECONDS)                 # the pause ends; Redis is tried again
        last = _ask(stack)
        assert last.status_code == 200
        stack.harness.wait_for_log(last.headers["X-Kong-Request-Id"])
        time.sleep(0.2)
        day, _ = _used(stack)
        assert day == held_used + int(last.headers["X-Token-Usage-Total"])   # not 5,000 more
        again = _ask(stack)                                          # its settle replays nothing twice
        stack.harness.wait_for_log(again.headers["X-Kong-Request-Id"])
        time.sleep(0.2)
        assert _used(stack)[0] == day + int(again.headers["X-Token-Usage-Total"])
