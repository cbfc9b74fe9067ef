"""Plugin-server supervision, the 'no plugin instance' recovery, the #12364 spin, the CLI."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.harness.conftest import PLUGINS_DIR, build, pdk_server
from tests.kong_harness.process import socket_accepts

YAML = """
_format_version: "3.0"
services:
- name: echo
  url: {up}
  routes:
  - name: p
    paths: [/p]
    plugins: [{{name: py_second}}]  # access only: no log timers racing the kills
"""


def _wait_respawn(h, old_pid: int, timeout: float = 10.0) -> int:
    sock = h.conf.server_defs[0].socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = h.plugin_server_pids()["py"]
        if pid and pid != old_pid and socket_accepts(sock):
            return pid
        time.sleep(0.05)
    raise AssertionError("plugin server was not respawned")


def test_sigkill_respawn_and_no_plugin_instance_recovery(upstream, tmp_path):
    h = build(tmp_path, YAML.format(up=upstream.url))
    try:
        assert requests.get(h.proxy_url + "/p").status_code == 200
        pid1 = h.plugin_server_pids()["py"]
        os.kill(pid1, signal.SIGKILL)
        pid2 = _wait_respawn(h, pid1)
        os.kill(pid2, signal.SIGKILL)  # dies at once: the next spawn waits for the 1 s throttle
        pid3 = _wait_respawn(h, pid2)
        times = h.plugin_server_process("py").spawn_times
        assert len(times) == 3 and times[2] - times[1] >= 0.95
        assert any("external pluginserver 'py' terminated: signal 9" in line for line in h.error_log)
        r = requests.get(h.proxy_url + "/p")
        assert r.status_code == 200
        trace = h.request_stats(r.headers["X-Kong-Request-Id"])["trace"]
        methods = [t["method"] for t in trace]
        assert methods[0] == "plugin.HandleEvent" and trace[0]["error"] == "no plugin instance #0"
        assert "plugin.StartInstance" in methods and trace[-1]["result"]["Data"] == "ret"
        assert any("[warn]" in line and "no plugin instance #0" in line for line in h.error_log)
        assert pid3 == h.plugin_server_pids()["py"]
    finally:
        h.stop()
    assert h.plugin_server_pids()["py"] is None


def test_workers_2_spin_on_non_zero_worker(upstream, tmp_path):
    h = build(tmp_path, YAML.format(up=upstream.url), workers=2, max_no_instance_retries=30)
    try:
        for _ in range(2):  # worker 0 gets instance #0, worker 1 gets instance #1
            assert requests.get(h.proxy_url + "/p").status_code == 200
        pid = h.plugin_server_pids()["py"]
        os.kill(pid, signal.SIGKILL)
        _wait_respawn(h, pid)
        r0 = requests.get(h.proxy_url + "/p")  # worker 0: reset_instances handler -> recovers
        assert r0.status_code == 200
        assert not any("] spin: " in line for line in h.error_log)
        r1 = requests.get(h.proxy_url + "/p")  # worker 1: no handler registered -> spins (#12364)
        assert r1.status_code == 200
        rid = r1.headers["X-Kong-Request-Id"]
        spins = [line for line in h.error_log if "] spin: " in line and rid in line]
        assert spins and "worker 1" in spins[0]
        stats = h.request_stats(rid)
        assert stats["rpc_calls"] == 30 and all(t["error"] == "no plugin instance #1" for t in stats["trace"])
    finally:
        h.stop()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_cli_runs_until_sigterm(upstream, tmp_path):
    pdk = pdk_server()
    conf = tmp_path / "kong.conf"
    conf.write_text(
        "plugins = bundled,py_second\npluginserver_names = py\nlog_level = info\n"
        "pluginserver_py_socket = %s/python_pluginserver.sock\n"
        "pluginserver_py_start_cmd = %s -d %s -g -p %s\n"
        "pluginserver_py_query_cmd = %s -d %s --dump-all-plugins\n" % (tmp_path, pdk, PLUGINS_DIR, tmp_path,
                                                                        pdk, PLUGINS_DIR))
    (tmp_path / "kong.yaml").write_text(YAML.format(up=upstream.url))
    proxy, status = _free_port(), _free_port()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "tests.kong_harness", "--conf", str(conf),
                             "--declarative-config", str(tmp_path / "kong.yaml"), "--prefix", str(tmp_path / "pfx"),
                             "--proxy-listen", "127.0.0.1:%d" % proxy, "--status-listen", "127.0.0.1:%d" % status],
                            cwd=str(root), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get("http://127.0.0.1:%d/status/ready" % status, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert requests.get("http://127.0.0.1:%d/p" % proxy).status_code == 200
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "Starting py" in err
        pids = [int(line.split("[py:")[1].split("]")[0]) for line in err.splitlines() if "[py:" in line]
        assert pids
        for pid in set(pids):
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_exit_status_127_stops_the_respawn_loop(upstream, tmp_path):
    h = build(tmp_path, '_format_version: "3.0"\n', env={"KONG_PLUGINSERVER_PY_START_CMD": "/nonexistent/server"},
              socket_wait=5)
    try:
        proc = h.plugin_server_process("py")
        assert proc.spawn_count == 1
        assert any('start command "/nonexistent/server" exited with "command not found"' in line
                   for line in h.error_log)
        assert any("Exiting: pluginserver 'py' not respawned." in line for line in h.error_log)
    finally:
        h.stop()
