"""`make dev` (python -m tests.stack): starts, answers the curl it prints, and
Ctrl-C leaves no process behind."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import requests

from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_dev_stack_prints_a_working_curl_and_stops_cleanly():
    ports = [free_port() for _ in range(5)]
    args = ["--proxy-port", "--status-port", "--relay-port", "--metrics-port", "--emulator-port"]
    cmd = [sys.executable, "-m", "tests.stack"] + [str(x) for pair in zip(args, ports) for x in pair]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            output.append(line)
            if "Ctrl-C stops everything" in line or not line:
                break
        text = "".join(output)
        assert "curl -s" in text, text
        proxy = re.search(r"curl -s (http://127\.0\.0\.1:\d+)/v1/messages", text).group(1)
        assert proxy == f"http://127.0.0.1:{ports[0]}"
        r = requests.post(proxy + "/v1/messages", headers={"X-API-Key": "dev-developer-key"}, timeout=10,
                          json={"model": "sonnet", "max_tokens": 64,
                                "messages": [{"role": "user", "content": "Hello"}]})
        assert r.status_code == 200 and r.json()["content"][0]["text"]
        sdk = anthropic.Anthropic(base_url=proxy, api_key="dev-developer-key", max_retries=0)
        reply = sdk.messages.create(model="sonnet", max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
        assert reply.content[0].text
        children = _descendants(proc.pid)
        assert children, "the plugin server should run as a child process"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert alive == [], f"processes left behind: {alive}"
    for port in ports:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still answers")
        except requests.ConnectionError:
            pass
