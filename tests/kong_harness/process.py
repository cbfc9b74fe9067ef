"""Plugin-server process supervision (kong/runloop/plugin_servers/process.lua).

Why: Kong (worker 0 only) spawns ``exec <start_cmd>`` through ``ngx.pipe``
with stderr merged into stdout, logs every line at INFO as ``[name:pid]``,
respawns a dead server at most once per second and gives up on exit status 127.
The harness does the same with a supervisor thread per server; the child gets
the environment nginx gives its workers (see conf.worker_environment).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from typing import Callable

from .conf import ServerDef
from .errlog import ErrorLog


class PluginServerProcess:
    """One supervised external plugin server (``pluginserver_timer``)."""

    def __init__(self, server_def: ServerDef, env: dict[str, str], errlog: ErrorLog,
                 on_line: Callable[[str, int, str], None]) -> None:
        self.server_def = server_def
        self.env = env
        self.errlog = errlog
        self.on_line = on_line
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.spawn_count = 0
        self.spawn_times: list[float] = []

    @property
    def pid(self) -> int | None:
        with self._lock:
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return None
        return proc.pid

    def start(self) -> None:
        """``ngx.timer.at(0, pluginserver_timer, server_def)``."""
        self._thread = threading.Thread(target=self._loop, name="pluginserver-" + self.server_def.name,
                                        daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        name = self.server_def.name
        next_spawn = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            if now < next_spawn:
                if self._stopping.wait(next_spawn - now):
                    break
            self.errlog.log("notice", "Starting " + name)
            try:
                proc = subprocess.Popen(
                    ["/bin/sh", "-c", "exec " + (self.server_def.start_command or "")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    env=self.env, close_fds=True,
                )
            except OSError as e:  # ngx_pipe.spawn assert() failure
                self.errlog.log("error", "failed to spawn %s: %s" % (name, e))
                break
            with self._lock:
                self._proc = proc
            self.spawn_count += 1
            self.spawn_times.append(time.monotonic())
            next_spawn = time.monotonic() + 1.0
            self._grab_logs(proc)
            status = proc.wait()
            if status == 127:
                self.errlog.log("error", 'external pluginserver "%s" start command "%s" exited with '
                                '"command not found"' % (name, self.server_def.start_command))
                break
            reason, code = ("exit", status) if status >= 0 else ("signal", -status)
            self.errlog.log("notice", "external pluginserver '%s' terminated: %s %s" % (name, reason, code))
        self.errlog.log("notice", "Exiting: pluginserver '%s' not respawned." % name)

    def _grab_logs(self, proc: subprocess.Popen) -> None:
        """process.lua grab_logs: every line at INFO, prefixed ``[name:pid] ``."""
        prefix = "[%s:%d] " % (self.server_def.name, proc.pid)
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line:
                self.on_line(self.server_def.name, proc.pid, line)
                self.errlog.log("info", prefix + line, raw=True)
        proc.stdout.close()

    def kill(self, sig: int) -> None:
        """Send a signal to the current server process (tests use SIGKILL)."""
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, sig)

    def stop(self, timeout: float = 5.0) -> None:
        """plugin_servers.stop(): SIGTERM; escalate to SIGKILL so nothing is left running."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
            except ProcessLookupError:
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_socket(self, path: str, timeout: float) -> bool:
        """Harness convenience: block until the unix socket accepts (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if socket_accepts(path):
                return True
            if self._thread is not None and not self._thread.is_alive():
                return False
            time.sleep(0.05)
        return False


def socket_accepts(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()
