"""The plugin server knows when the Kong that started it respawned it (Kong 3.6.1 #12364), and only then.

Imports restart_marker, not server: server patches the process with gevent, which broke the in-process harness
of every later test in the run."""

import os
import subprocess
import sys

from kong_plugins.restart_marker import mark_started


def _kong_master(prefix, pid: int) -> None:
    os.makedirs(prefix / "pids", exist_ok=True)
    (prefix / "pids" / "nginx.pid").write_text(f"{pid}\n")


def test_a_second_start_under_the_same_kong_is_a_respawn(tmp_path):
    _kong_master(tmp_path, os.getpid())
    assert mark_started(str(tmp_path)) is False
    assert mark_started(str(tmp_path)) is True


def test_a_new_kong_on_the_same_prefix_starts_fresh(tmp_path):
    """A restarted container keeps its emptyDir prefix: the new Kong's plugin server is no respawn (the marker
    once said only "started", and every later Kong in the pod failed its liveness probe)."""
    _kong_master(tmp_path, os.getpid())
    assert mark_started(str(tmp_path)) is False
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _kong_master(tmp_path, other.pid)
        assert mark_started(str(tmp_path)) is False
        assert mark_started(str(tmp_path)) is True
    finally:
        other.kill()
        other.wait()


def test_the_same_pid_started_again_is_a_new_kong(tmp_path):
    """A container's new master often gets its old pid back: its start time tells them apart."""
    _kong_master(tmp_path, os.getpid())
    (tmp_path / "bedrock-plugin-server.started").write_text(f"{os.getpid()}@1")
    assert mark_started(str(tmp_path)) is False


def test_without_a_start_time_to_tell_kongs_apart_a_start_is_fresh(tmp_path, monkeypatch):
    """No readable /proc: a container's new master, pid 1 again, would read as the old one and loop on 503."""
    from kong_plugins import restart_marker
    monkeypatch.setattr(restart_marker, "_proc_stat", lambda pid: [])
    _kong_master(tmp_path, 1)
    assert mark_started(str(tmp_path)) is False
    assert mark_started(str(tmp_path)) is False
