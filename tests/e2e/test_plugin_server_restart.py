"""Killing the plugin server: Kong 3.6.1 respawns it and recovers through
"no plugin instance"; while it is down nothing reaches Bedrock unchecked."""

import os
import signal
import time

import pytest
import requests

from tests.stack import GatewayStack

MSG = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "ping"}]}
HEADERS = {"X-API-Key": "dev-developer-key"}


@pytest.fixture()
def own_stack():
    with GatewayStack(rpc_timeout=2.0, relay_read_timeout_ms=3000) as running:
        yield running


def post(stack):
    return requests.post(stack.proxy_url + "/v1/messages", json=MSG, headers=HEADERS, timeout=15)


def test_sigkill_then_respawn_recovers_through_no_plugin_instance(own_stack):
    assert post(own_stack).status_code == 200          # instances exist now
    old_pid = own_stack.harness.plugin_server_pids()["bedrock"]
    os.kill(old_pid, signal.SIGKILL)

    deadline = time.monotonic() + 5.0
    status = None
    while time.monotonic() < deadline:
        try:
            status = post(own_stack).status_code
        except requests.RequestException:
            status = None
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, "gateway did not recover within 5 s of the kill"
    new_pid = own_stack.harness.plugin_server_pids()["bedrock"]
    assert new_pid and new_pid != old_pid
    assert any("no plugin instance" in line for line in own_stack.harness.error_log)


def test_while_the_plugin_server_is_down_no_request_reaches_bedrock(own_stack):
    """Kong 3.6.1 fails open when a plugin's RPC fails: the request continues
    without our plugins. Because the relay lives in the same process, it is down
    too, so Kong answers 504 instead of calling Bedrock without checks."""
    assert post(own_stack).status_code == 200
    own_stack.emulator_control("DELETE", "/_emulator/requests")
    pid = own_stack.harness.plugin_server_pids()["bedrock"]
    os.kill(pid, signal.SIGSTOP)       # frozen: RPCs time out, relay does not answer
    try:
        r = requests.post(own_stack.proxy_url + "/v1/messages", json=MSG, headers=HEADERS, timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r.status_code == 504
    assert any("timeout" in line.lower() for line in own_stack.harness.error_log)
    assert own_stack.emulator_control("GET", "/_emulator/requests").json() == []
