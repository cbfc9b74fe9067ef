"""The processes a benchmark run compares: the emulator, this gateway, LiteLLM, Redis.

Each runs in its own OS process on 127.0.0.1 (loopback only) and is stopped
when the run ends, so one run is one machine's honest picture: the load
generator, the gateway and the emulator share the same cores, as they would on
a laptop or a CI runner.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
import requests

from bench.gateway import PREFIX
from tests.stack import EMULATOR_KEY_ID, EMULATOR_SECRET, free_port

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VENV = ROOT / ".dev" / "litellm"
LITELLM_VERSION = "1.100.5"
"""Newer releases need a certifi newer than the package index here offers."""
MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
LITELLM_KEY = "sk-bench-litellm-master-key"


def wait_http(url: str, timeout: float, accept: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code in accept:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass
class Managed:
    """A child process stopped on exit."""

    proc: subprocess.Popen | None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_emulator() -> tuple[Managed, str]:
    port = free_port()
    env = {**os.environ, "BEDROCK_EMULATOR_ACCESS_KEY_ID": EMULATOR_KEY_ID,
           "BEDROCK_EMULATOR_SECRET_ACCESS_KEY": EMULATOR_SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "kong_plugins.emulator", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/_emulator/requests", 30)
    return Managed(proc), url


def start_redis() -> tuple[Managed, int]:
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    managed = Managed(subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                        "--appendonly", "no"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port).ping()
            return managed, port
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class OurGateway:
    """`bench.gateway` in a child process, driven over its stdin/stdout."""

    def __init__(self, **stack_kwargs: object) -> None:
        self.managed = Managed(subprocess.Popen(
            [sys.executable, "-m", "bench.gateway", json.dumps(stack_kwargs)], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None))
        info = self._answer()
        self.url = f"http://127.0.0.1:{info['proxy_port']}"
        self.socket_path = info["socket"]
        self.plugin_server_pid = info["plugin_server_pid"]
        self.metrics_url = info["metrics_url"]
        self.pid = self.managed.proc.pid

    def stats(self, request_id: str) -> dict:
        self.managed.proc.stdin.write(f"stats {request_id}\n")
        self.managed.proc.stdin.flush()
        return self._answer()

    def drive(self, request_id: str, n: int) -> dict:
        self.managed.proc.stdin.write(f"drive {request_id} {n}\n")
        self.managed.proc.stdin.flush()
        return self._answer()

    def relay_overheads(self) -> dict:
        self.managed.proc.stdin.write("relay\n")
        self.managed.proc.stdin.flush()
        return self._answer()

    def _answer(self) -> dict:
        for line in self.managed.proc.stdout:
            if line.startswith(PREFIX):
                return json.loads(line[len(PREFIX):])
        raise RuntimeError("the gateway process ended (run `python -m bench.gateway` to see why)")

    def plugin_server_rss(self) -> int:
        return psutil.Process(self.plugin_server_pid).memory_info().rss

    def stop(self) -> None:
        try:
            self.managed.proc.stdin.close()
            self.managed.proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.managed.stop()


def ensure_litellm() -> Path:
    """LiteLLM in its own venv (.dev/litellm): its pins must not move this project's."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        f"litellm[proxy]=={LITELLM_VERSION}"], check=True)
    return exe


class LiteLLMProxy:
    """`litellm --config` with its Bedrock provider pointed at the emulator; no database, one worker."""

    def __init__(self, emulator_url: str) -> None:
        exe = ensure_litellm()
        port = free_port()
        self.managed = Managed(None)
        config = self.managed.workdir / "litellm.yaml"
        config.write_text(json.dumps({
            "model_list": [{"model_name": "haiku", "litellm_params": {
                "model": f"bedrock/{MODEL_ID}", "aws_bedrock_runtime_endpoint": emulator_url,
                "aws_access_key_id": EMULATOR_KEY_ID, "aws_secret_access_key": EMULATOR_SECRET,
                "aws_region_name": "us-east-1"}}],
            "general_settings": {"master_key": LITELLM_KEY},
            "litellm_settings": {"drop_params": True, "telemetry": False},
        }))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "AWS_"))}
        env.update(LITELLM_TELEMETRY="False", LITELLM_LOG="ERROR", NO_DOCS="True")
        self.managed.proc = subprocess.Popen(
            [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
            cwd=self.managed.workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        self.pid = self.managed.proc.pid
        wait_http(self.url + "/health/liveliness", 120)

    def stop(self) -> None:
        self.managed.stop()
