"""Budgets in a real redis-server (Debian package), shared by two plugin servers."""

import json
import shutil
import subprocess
import time

import pytest
import redis
import requests

from kong_plugins import redis_client
from tests.stack import GatewayStack, free_port

ASK = {"model": "haiku", "max_tokens": 100, "messages": [{"role": "user", "content": "tell me something"}]}
RESERVED = 100 + 5            # max_tokens + the prompt's input estimate


def redis_config(port, limit, **extra):
    """A daily token limit: unlike a minute window, it does not roll over in the middle of a test."""
    return {"token-meter": {"storage": "redis", "redis": {"host": "127.0.0.1", "port": port, "timeout_ms": 300},
                            "limits": [{"role": "developer", "tokens_per_day": limit}], **extra}}


def ask(stack, **kw):
    return requests.post(stack.proxy_url + "/v1/messages", json={**ASK, **kw},
                         headers={"X-API-Key": "dev-developer-key"}, timeout=30)


def test_two_plugin_servers_enforce_one_budget(redis_server):
    port, _ = redis_server
    with GatewayStack(config_overrides=redis_config(port, 150)) as a, \
            GatewayStack(config_overrides=redis_config(port, 150)) as b:
        a.emulator_control("POST", "/_emulator/hold")
        held = requests.post(a.proxy_url + "/v1/messages", json={**ASK, "stream": True}, stream=True, timeout=30,
                             headers={"X-API-Key": "dev-developer-key"})
        assert held.status_code == 200                       # node A holds a 105-token reservation
        refused = ask(b)
        assert refused.status_code == 429                    # node B sees it: 105 + 105 > 150
        assert refused.headers["X-RateLimit-Remaining-Tokens-Day"] == str(150 - RESERVED)
        a.emulator_control("POST", "/_emulator/release")
        held.content                                         # the stream ends; A settles to actual usage
        a.harness.wait_for_log(held.headers["X-Kong-Request-Id"])
        time.sleep(0.2)
        assert ask(b).status_code == 200


def test_budgets_survive_a_plugin_server_restart(redis_server):
    port, _ = redis_server
    with GatewayStack(config_overrides=redis_config(port, 10000)) as first:
        r = ask(first)
        first.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
        used = int(r.headers["X-Token-Usage-Total"])
        time.sleep(0.2)
    with GatewayStack(config_overrides=redis_config(port, 10000)) as second:   # new Kong, new plugin server
        again = ask(second)
        assert again.status_code == 200
        assert int(again.headers["X-RateLimit-Remaining-Tokens-Day"]) == 10000 - used - RESERVED


@pytest.mark.parametrize("on_error,expected", [("allow", 200), ("deny", 503)])
def test_redis_down_fails_open_or_closed_as_configured(redis_server, on_error, expected):
    port, proc = redis_server
    with GatewayStack(config_overrides=redis_config(port, 10000, on_store_error=on_error)) as stack:
        assert ask(stack).status_code == 200
        proc.kill()
        proc.wait()
        r = ask(stack)
        assert r.status_code == expected
        if expected == 503:
            assert r.json()["error"]["type"] == "overloaded_error" and int(r.headers["Retry-After"]) > 0
        stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
        logged = [json.loads(line) for line in stack.harness.plugin_server_output("bedrock") if line.startswith("{")]
        assert any(e["event"] == "budget_store_error" for e in logged)
        text = requests.get(stack.metrics_url, timeout=5).text
        assert 'kong_bedrock_budget_store_errors_total{operation="reserve"}' in text


def test_one_redis_round_trip_per_phase(redis_server):
    port, _ = redis_server
    client = redis.Redis(port=port)
    with GatewayStack(config_overrides=redis_config(port, 100000)) as stack:
        first = ask(stack)                                   # loads the scripts once (EVALSHA miss + SCRIPT LOAD)
        stack.harness.wait_for_log(first.headers["X-Kong-Request-Id"])
        client.config_resetstat()
        r = ask(stack)
        stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
        time.sleep(0.2)
        stats = client.info("commandstats")
    calls = {name: value["calls"] for name, value in stats.items()}
    calls.pop("cmdstat_config|resetstat", None)
    calls.pop("cmdstat_config", None)
    assert calls.pop("cmdstat_evalsha") == 2                 # network round trips: reserve in access, settle in log
    assert set(calls) <= {"cmdstat_get", "cmdstat_incrby", "cmdstat_expire",   # run inside the scripts
                          "cmdstat_exists", "cmdstat_set", "cmdstat_del"}   # a reservation's marker


def test_redis_restarted_mid_run_budgets_continue_from_redis(tmp_path):
    """Redis with its append-only file (as a production Redis keeps budgets) goes away and comes
    back on the same port: refusals while it is gone (fail closed here), then, once the client tries
    it again (redis_client.DOWN_SECONDS after the failure), the budget goes on from what Redis kept,
    through the plugin server's existing client."""
    exe = shutil.which("redis-server")
    port = free_port()
    start = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(tmp_path)]

    def run_redis():
        proc = subprocess.Popen(start, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port).ping()
                return proc
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    proc = run_redis()
    try:
        with GatewayStack(config_overrides=redis_config(port, 10000, on_store_error="deny")) as stack:
            r = ask(stack)
            stack.harness.wait_for_log(r.headers["X-Kong-Request-Id"])
            remaining = int(r.headers["X-RateLimit-Remaining-Tokens-Day"]) + RESERVED - int(
                r.headers["X-Token-Usage-Total"])      # after settlement: the reservation became actual usage
            time.sleep(0.2)
            proc.terminate()
            proc.wait(10)
            down = ask(stack)
            assert down.status_code == 503 and down.json()["error"]["type"] == "overloaded_error"
            proc = run_redis()
            time.sleep(redis_client.DOWN_SECONDS)   # the client leaves a failed Redis alone this long
            back = ask(stack)
            assert back.status_code == 200
            assert int(back.headers["X-RateLimit-Remaining-Tokens-Day"]) == remaining - RESERVED
    finally:
        proc.kill()
        proc.wait()


def _used_by_stream(raw: bytes) -> int:
    """input + output tokens an Anthropic stream reported."""
    used = 0
    for block in raw.decode().split("\n\n"):
        if block.startswith("event: message_start"):
            used += json.loads(block.split("data: ", 1)[1])["message"]["usage"]["input_tokens"]
        elif block.startswith("event: message_delta"):
            used += json.loads(block.split("data: ", 1)[1])["usage"]["output_tokens"]
    return used


def test_a_call_that_ends_while_redis_is_marked_down_is_settled_once_redis_answers_again(redis_server):
    """A Redis timeout marks Redis down for down_ms (2 s): a settle in that moment was lost, leaving the call
    charged at its worst case for the day and the month. It waits and is replayed by the next settle."""
    port, _ = redis_server
    admin = redis.Redis(port=port)
    with GatewayStack(config_overrides=redis_config(port, 100_000)) as stack:
        stack.emulator_control("PUT", "/_emulator/settings", json={"output_tokens": 13})
        stack.emulator_control("POST", "/_emulator/hold")
        held = requests.post(stack.proxy_url + "/v1/messages", json={**ASK, "max_tokens": 5000, "stream": True},
                             headers={"X-API-Key": "dev-developer-key"}, stream=True, timeout=30)
        assert held.status_code == 200
        admin.execute_command("CLIENT", "PAUSE", 800, "ALL")       # the next reserve times out (timeout_ms 300)
        assert ask(stack).status_code == 200                        # served unmetered (on_store_error: allow)
        stack.emulator_control("POST", "/_emulator/release")
        held_used = _used_by_stream(held.content)                   # its settle finds Redis marked down
        time.sleep(2.5)                                             # down_ms passed: Redis is tried again
        last = ask(stack)
        assert last.status_code == 200
        last_used = last.json()["usage"]["input_tokens"] + last.json()["usage"]["output_tokens"]
        r = requests.get(stack.proxy_url + "/v1/budget", headers={"X-API-Key": "dev-developer-key"}, timeout=15)
        assert r.json()["tokens_per_day"]["used"] == held_used + last_used     # not 5,005 reserved for the first


def test_a_settle_says_what_is_left_and_never_takes_a_counter_below_nothing(redis_server):
    """A settle returns the windows as Redis holds them (the remaining-budget gauges are set from it); Redis
    restarted empty (no persistence) has lost the reservation a late settle takes back: nothing used, not a
    negative count that would leave more than the limit to spend."""
    from kong_plugins.metering.budget import Charge, Totals, Windows
    from kong_plugins.metering.limits import Limits
    from kong_plugins.metering.redis_budget import RedisBudgetStore
    port, _ = redis_server
    store, windows, limits = RedisBudgetStore.connect({"host": "127.0.0.1", "port": port}), Windows.at(), Limits()
    assert store.reserve("s", Charge(5005, 20_000), limits, windows).allowed
    assert store.reserve("s", Charge(105, 300), limits, windows).allowed            # another call, in flight
    assert store.adjust("s", windows, Charge(18 - 5005, 90 - 20_000)) == Totals(18 + 105, 18 + 105, 90 + 300)
    redis.Redis(port=port).flushall()                                                # restarted empty
    assert store.adjust("s", windows, Charge(12 - 105, 40 - 300)) == Totals(0, 0, 0)
    assert store.totals("s", windows) == Totals(0, 0, 0)
    assert store.adjust("s", windows, Charge(7, 0)) == Totals(7, 7, 0)              # zero delta: read, not written
