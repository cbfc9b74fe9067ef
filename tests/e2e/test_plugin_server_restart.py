"""Killing the plugin server: Kong 3.6.1 respawns it and recovers through
"no plugin instance"; while it is down nothing reaches Bedrock unchecked."""

import os
import signal
import socket
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


def test_sigkill_then_respawn_recovers_within_5_seconds(own_stack):
    assert post(own_stack).status_code == 200          # instances exist now
    old_pid = own_stack.harness.plugin_server_pids()["bedrock"]
    killed_at = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)

    status = None
    while time.monotonic() - killed_at < 5.0:
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


def test_stale_instance_ids_recover_through_no_plugin_instance(own_stack):
    """Kong keeps the old instance ids after a restart; the new server answers
    "no plugin instance #N" and Kong (worker 0) restarts the instances."""
    assert post(own_stack).status_code == 200
    old_pid = own_stack.harness.plugin_server_pids()["bedrock"]
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10.0
    while own_stack.harness.plugin_server_pids()["bedrock"] in (None, old_pid) or \
            not _socket_accepts(own_stack.prefix / "bedrock.sock"):
        assert time.monotonic() < deadline, "plugin server was not respawned"
        time.sleep(0.05)
    assert post(own_stack).status_code == 200          # first request after the respawn
    assert any("no plugin instance" in line for line in own_stack.harness.error_log)


def _socket_accepts(path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def test_while_the_plugin_server_is_down_no_request_reaches_bedrock(own_stack):
    """Kong 3.6.1 fails open when a plugin's RPC fails: the request continues
    without our plugins. Because the relay lives in the same process, it is down
    too, so Kong answers 504 instead of calling Bedrock without checks."""
    warm = post(own_stack)
    assert warm.status_code == 200
    # Its log phase must be over first: a log-phase RPC failure makes Kong reset the plugin's
    # instances, and restarting one against a frozen server is Kong's 500 (init.lua), not 504.
    own_stack.harness.wait_for_log(warm.headers["X-Kong-Request-Id"])
    own_stack.emulator_control("DELETE", "/_emulator/requests")
    pid = own_stack.harness.plugin_server_pids()["bedrock"]
    os.kill(pid, signal.SIGSTOP)       # frozen: RPCs time out, relay does not answer
    try:
        r = requests.post(own_stack.proxy_url + "/v1/messages", json=MSG, headers=HEADERS, timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r.status_code == 504
    for plugin in ("token-meter", "ecommerce-guardrails", "bedrock-proxy"):   # each RPC failed: Kong went on
        assert any(f"[{plugin}] no data" in line for line in own_stack.harness.error_log), plugin
    assert own_stack.emulator_control("GET", "/_emulator/requests").json() == []


def test_respawned_server_fails_health_when_asked_to(tmp_path):
    """Kong 3.6.1 #12364 answer: a respawned plugin server reports 503 on /health (liveness)."""
    with GatewayStack(extra_start_args="--fail-health-after-restart") as stack:
        assert requests.get(stack.proxy_url + "/health", timeout=5).status_code == 200
        old_pid = stack.harness.plugin_server_pids()["bedrock"]
        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline:
            try:
                status = requests.get(stack.proxy_url + "/health", timeout=5).status_code
            except requests.RequestException:
                status = None
            if status == 503:
                break
            time.sleep(0.2)
        assert status == 503
        assert requests.get(stack.proxy_url + "/health", timeout=5).json()["status"] == "restart-pod"
