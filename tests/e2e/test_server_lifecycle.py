"""The plugin server exits when Kong (its parent) goes away, whoever adopts it."""

import os
import shutil
import signal
import subprocess
import sys
import time

from tests.stack import free_port

LAUNCHER = """
import subprocess, sys, time
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_plugin_server_exits_when_its_parent_dies(tmp_path):
    exe = shutil.which("kong-bedrock-plugins")
    cmd = [exe, "--kong-prefix", str(tmp_path), "--relay-listen", f"127.0.0.1:{free_port()}",
           "--metrics-listen", f"127.0.0.1:{free_port()}"]
    parent = subprocess.Popen([sys.executable, "-c", LAUNCHER, *cmd], stdout=subprocess.PIPE, text=True)
    server_pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 20
    while not (tmp_path / "bedrock.sock").exists():
        assert time.monotonic() < deadline, "plugin server did not start"
        time.sleep(0.05)
    assert _alive(server_pid)
    os.kill(parent.pid, signal.SIGKILL)      # Kong dies without stopping its plugin server
    parent.wait()
    deadline = time.monotonic() + 5
    while _alive(server_pid):
        assert time.monotonic() < deadline, "plugin server outlived its parent"
        time.sleep(0.1)
