"""Control API routes, request log, stats, and the CLI entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from emulator_helpers import ACCESS_KEY, SECRET_KEY, SONNET_45, claude_body, make_client

REPO = Path(__file__).resolve().parents[2]


def test_health_and_unknown_routes(emulator) -> None:
    assert requests.get(f"{emulator.url}/_emulator/health", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{emulator.url}/_emulator/nope", timeout=5).status_code == 404
    assert requests.post(f"{emulator.url}/_emulator/health", timeout=5).status_code == 405


def test_unknown_model_route_is_unknown_operation(emulator, client) -> None:
    response = requests.post(f"{emulator.url}/model/x/explode", timeout=5)
    assert response.status_code == 403  # auth first, like AWS
    url = f"{emulator.url}/model/{SONNET_45}/invoke"
    assert requests.get(url, timeout=5).status_code == 403


def test_requests_log_and_stats(emulator, client) -> None:
    client.invoke_model(modelId=SONNET_45, body=json.dumps(claude_body("first")))
    client.converse(modelId=SONNET_45, messages=[{"role": "user", "content": [{"text": "second"}]}])
    with pytest.raises(Exception):
        make_client(emulator.url, secret_key="wrong").invoke_model(modelId=SONNET_45, body="{}")
    log = requests.get(f"{emulator.url}/_emulator/requests", timeout=5).json()
    assert [(e["operation"], e["status"]) for e in log] == [("invoke", 200), ("converse", 200), ("invoke", 403)]
    assert log[1]["body"]["messages"][0]["content"][0]["text"] == "second"
    assert all(e["headers"]["authorization"] == "<redacted>" for e in log)
    assert all(name == name.lower() for e in log for name in e["headers"])
    stats = requests.get(f"{emulator.url}/_emulator/stats", timeout=5).json()
    assert stats == {"total": 3, "operations": {"converse": {"200": 1}, "invoke": {"200": 1, "403": 1}}}
    assert requests.delete(f"{emulator.url}/_emulator/requests", timeout=5).status_code == 200
    assert requests.get(f"{emulator.url}/_emulator/requests", timeout=5).json() == []


def test_request_log_is_bounded(emulator) -> None:
    for _ in range(205):
        requests.post(f"{emulator.url}/model/{SONNET_45}/invoke", data=b"not json", timeout=5)
    log = emulator.requests()
    assert len(log) == 200 and log[0]["body"] is None


def test_reset_route_restores_defaults(emulator) -> None:
    emulator.update_settings(output_tokens=99)
    emulator.add_fault("throttle", count=-1)
    assert requests.post(f"{emulator.url}/_emulator/reset", timeout=5).status_code == 200
    assert emulator.state.timing.snapshot().output_tokens == 12
    assert emulator.state.faults.list() == []


def test_cli_serves_logs_metadata_and_exits_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "BEDROCK_EMULATOR_ACCESS_KEY_ID": ACCESS_KEY,
           "BEDROCK_EMULATOR_SECRET_ACCESS_KEY": SECRET_KEY, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "kong_plugins.emulator", "--host", "127.0.0.1", "--port", "0",
                             "--output-tokens", "4"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline().strip()
        assert banner.startswith("bedrock emulator listening on http://127.0.0.1:")
        url = banner.rsplit(" ", 1)[1]
        body = json.dumps(claude_body("secret words"))
        response = make_client(url).invoke_model(modelId=SONNET_45, body=body)
        assert json.loads(response["body"].read())["usage"]["output_tokens"] == 4
        line = proc.stdout.readline().strip()
        assert line.startswith("POST /model/") and " 200 " in line and line.endswith("ms")
        assert "secret" not in line and "AWS4" not in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
