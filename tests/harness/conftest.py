"""Fixtures for the harness's own tests: an echo upstream and harness builders."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.harness.echo_upstream import EchoUpstream
from tests.kong_harness import KongHarness

PLUGINS_DIR = str(Path(__file__).resolve().parent.parent / "kong_harness" / "testdata" / "plugins")
BAD_PLUGINS_DIR = str(Path(__file__).resolve().parent.parent / "kong_harness" / "testdata" / "plugins_bad")


def pdk_server() -> str:
    """Absolute path (PATH is cleared for plugin servers, like nginx does)."""
    candidate = os.path.join(os.path.dirname(sys.executable), "kong-python-pluginserver")
    if os.path.exists(candidate):
        return candidate
    found = shutil.which("kong-python-pluginserver")
    assert found, "kong-python-pluginserver not installed"
    return os.path.realpath(found)


def plugin_env(prefix: str, plugins_dir: str = PLUGINS_DIR, plugins: str = "bundled,py_probe,py_second",
               **extra: str) -> dict[str, str]:
    pdk = pdk_server()
    env = {
        "KONG_PLUGINS": plugins,
        "KONG_PLUGINSERVER_NAMES": "py",
        "KONG_PLUGINSERVER_PY_SOCKET": os.path.join(prefix, "python_pluginserver.sock"),
        "KONG_PLUGINSERVER_PY_START_CMD": "%s -d %s -g -p %s" % (pdk, plugins_dir, prefix),
        "KONG_PLUGINSERVER_PY_QUERY_CMD": "%s -d %s --dump-all-plugins" % (pdk, plugins_dir),
    }
    env.update(extra)
    return env


def build(tmp_path: Path, yaml_text: str, env: dict | None = None, **kw) -> KongHarness:
    """Write kong.yaml and start a harness with the probe plugin server."""
    prefix = str(tmp_path)
    path = tmp_path / "kong.yaml"
    path.write_text(yaml_text)
    full_env = plugin_env(prefix)
    full_env.update(env or {})
    return KongHarness(declarative_config=str(path), env=full_env, prefix=prefix, **kw).start()


@pytest.fixture(scope="module")
def upstream() -> Iterator[EchoUpstream]:
    with EchoUpstream() as up:
        yield up


def read_jsonl(path: Path) -> list[dict]:
    import json
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
