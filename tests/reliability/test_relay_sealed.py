"""The relay trusts Kong alone: it listens on loopback only and will not start on anything else.

(That it serves a request only with a live, unclaimed context from the access phase, and only
after every required plugin signed off, is in tests/e2e/test_walking_skeleton.py and
tests/e2e/test_fail_closed.py.)
"""

import shutil
import subprocess

import psutil
import pytest

from tests.stack import GatewayStack, free_port


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "10.0.0.5"])
def test_plugin_server_refuses_a_relay_address_off_loopback(tmp_path, address):
    exe = shutil.which("kong-bedrock-plugins")
    port = free_port()
    listen = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    run = subprocess.run([exe, "--kong-prefix", str(tmp_path), "--relay-listen", listen,
                          "--metrics-listen", f"127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "--relay-listen must be a loopback address" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_running_relay_is_bound_to_loopback_only():
    with GatewayStack() as stack:
        server = psutil.Process(stack.harness.plugin_server_pids()["bedrock"])
        listening = [c.laddr for c in server.net_connections("inet") if c.status == psutil.CONN_LISTEN]
        relay = [addr for addr in listening if addr.port == stack.relay_port]
        assert relay and all(addr.ip == "127.0.0.1" for addr in relay)
