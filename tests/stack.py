"""The whole gateway on one machine without Docker: emulator + Kong harness + plugin server.

Used by the end-to-end tests (free ports) and by `make dev` (fixed ports):

    python -m tests.stack            # proxy on 127.0.0.1:8000, Ctrl-C stops everything

The plugin server is started by the harness exactly as Kong starts it: from
`pluginserver_bedrock_start_cmd` (kong/kong.conf, overridden here through
KONG_* variables as an operator would), with the cleared nginx environment
plus the variables kong.conf declares in `nginx_main_env`.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml

from kong_plugins.emulator import EmulatorServer, EmulatorSettings
from tests.kong_harness import KongHarness

ROOT = Path(__file__).resolve().parent.parent
KONG_YAML = ROOT / "kong" / "kong.yaml"
KONG_CONF = ROOT / "kong" / "kong.conf"
RELAY_URL_IN_CONFIG = "http://127.0.0.1:8787"
EMULATOR_KEY_ID = "AKIDEMULATOR00000000"
EMULATOR_SECRET = "emulator-secret-access-key"

# libyaml's safe loader and dumper where PyYAML has them (the same documents, ~8x faster than the pure Python
# ones on kong.yaml, read and written on every start); the harness reads the file back as Kong's lyaml would.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on, below the kernel's ephemeral range.

    The port is bound later by another process (Kong's harness, the plugin server,
    redis). A port the kernel picked for `bind(0)` lies in the ephemeral range, which
    outgoing connections draw their local ports from: under a full test run one took
    such a port in between (EADDRINUSE, seen in CI). Ports below that range are never
    given to outgoing connections; each is handed out once per process.
    """
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - 20000), low) if low > 11024 else 0
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = s.getsockname()[1]
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0    # unknown: bind(0) as before


def plugin_server_exe() -> str:
    """The installed `kong-bedrock-plugins` script of this Python, else the one on PATH.

    On PATH there may be a version manager's shim in front of it (pyenv's: a shell and `pyenv exec`,
    ~0.2 s on every start of the plugin server); the script beside this interpreter is the same one, run directly.
    """
    beside = Path(sysconfig.get_path("scripts")) / "kong-bedrock-plugins"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    exe = shutil.which("kong-bedrock-plugins")
    if not exe:
        raise RuntimeError("kong-bedrock-plugins is not installed: pip install -e '.[dev]'")
    return exe


_dumps: dict[str, str] = {}
_dumps_lock = threading.Lock()


def _query_command(exe: str) -> str:
    """query_cmd: what `exe --dump` prints, computed once per test process and read back (`cat`) by every stack.

    The dump is the plugins' names, versions, priorities and schemas: it depends on the installed code only
    (no environment, no arguments), and it takes the plugin server's imports (~0.5 s) on every start otherwise.
    Kong still runs a query_cmd and reads its output on every start. Should the dump fail, the command itself
    is left for the harness to run, so its failure shows as it did.
    """
    command = f"{exe} --dump"
    with _dumps_lock:
        if command not in _dumps:
            _dumps[command] = command
            done = subprocess.run([exe, "--dump"], stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
            try:
                ok = done.returncode == 0 and isinstance(json.loads(done.stdout), list)
            except ValueError:
                ok = False
            if ok:
                directory = Path(tempfile.mkdtemp(prefix="kong-bedrock-dump-"))
                atexit.register(shutil.rmtree, directory, ignore_errors=True)
                (directory / "dump.json").write_bytes(done.stdout)
                _dumps[command] = f"cat {directory / 'dump.json'}"
        return _dumps[command]


class GatewayStack:
    """Start/stop the local stack; attributes give the URLs tests need."""

    declarative_source: Path = KONG_YAML   # the file loaded, given this stack's ports (tests/deploy: a rendered one)

    def __init__(self, *, proxy_port: int = 0, status_port: int = 0, relay_port: int = 0,
                 metrics_port: int = 0, emulator_port: int = 0, workers: int = 1,
                 config_overrides: dict | None = None, rpc_timeout: float = 60.0,
                 relay_read_timeout_ms: int | None = None, process_env: dict[str, str] | None = None,
                 model_overrides: dict[str, dict] | None = None, aws_env: dict[str, str] | None = None,
                 emulator_session_token: str | None = None, emulator_api_key: str | None = None,
                 rate_limits: bool = False,
                 access_log_to_stdout: bool = False, extra_start_args: str = "",
                 consumer_rate_limit: dict | None = None, external_emulator_url: str | None = None,
                 kong_only_route: bool = False) -> None:
        self.proxy_port = proxy_port or free_port()
        self.status_port = status_port or free_port()
        self.relay_port = relay_port or free_port()
        self.metrics_port = metrics_port or free_port()
        self.emulator = EmulatorServer(EmulatorSettings(host="127.0.0.1", port=emulator_port,
                                                        access_key_id=EMULATOR_KEY_ID,
                                                        secret_access_key=EMULATOR_SECRET,
                                                        session_token=emulator_session_token,
                                                        bearer_token=emulator_api_key))
        self.workers = workers
        self.rpc_timeout = rpc_timeout
        self.config_overrides = config_overrides or {}
        self.relay_read_timeout_ms = relay_read_timeout_ms
        self.extra_process_env = process_env or {}
        self.model_overrides = model_overrides or {}
        self.rate_limits = rate_limits   # kong.yaml's per-consumer request limits (off: tests burst on purpose)
        self.consumer_rate_limit = consumer_rate_limit   # benchmarks: this rate-limiting config on every consumer
        self.external_emulator_url = external_emulator_url   # benchmarks: one emulator process for every gateway
        self.access_log_to_stdout = access_log_to_stdout
        self.kong_only_route = kong_only_route   # benchmarks: Kong's own cost, see _kong_only_service
        self.extra_start_args = extra_start_args
        self.aws_env = aws_env if aws_env is not None else {"AWS_ACCESS_KEY_ID": EMULATOR_KEY_ID,
                                                            "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET}
        self.workdir = Path(tempfile.mkdtemp(prefix="kong-stack-"))
        self.prefix = self.workdir / "prefix"
        self.harness: KongHarness | None = None

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    @property
    def relay_url(self) -> str:
        return f"http://127.0.0.1:{self.relay_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> GatewayStack:
        if not self.external_emulator_url:
            self.emulator.start()
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.harness = KongHarness(
            declarative_config=str(self._write_config()),
            kong_conf=str(KONG_CONF),
            env=self._kong_env(),
            process_env=self._process_env(),
            prefix=str(self.prefix),
            proxy_listen=f"127.0.0.1:{self.proxy_port}",
            status_listen=f"127.0.0.1:{self.status_port}",
            workers=self.workers,
            rpc_timeout=self.rpc_timeout,
        ).start()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                response = requests.get(self.proxy_url + "/health", timeout=2)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        harness = self.harness
        log = "\n".join((harness.error_log if harness else [])[-15:])
        raise RuntimeError(f"gateway did not become healthy within {timeout:.0f}s (last: {last}); "
                           f"Kong error log tail:\n{log}")

    def emulator_control(self, method: str, path: str, json: dict | None = None) -> requests.Response:
        """Call the emulator's control API (faults, settings, recorded requests)."""
        return requests.request(method, self.emulator.url + path, json=json, timeout=10)

    def stop(self) -> None:
        if self.harness is not None:
            self.harness.stop()
        if not self.external_emulator_url:
            self.emulator.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> GatewayStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_config(self) -> Path:
        config = yaml.load(self.declarative_source.read_text(), Loader=_SafeLoader)
        for service in config.get("services", []):
            if service.get("url", "").startswith(RELAY_URL_IN_CONFIG):
                service["url"] = service["url"].replace(RELAY_URL_IN_CONFIG, self.relay_url)
                if self.relay_read_timeout_ms:
                    service["read_timeout"] = self.relay_read_timeout_ms
            for plugin in service.get("plugins", []):
                plugin.setdefault("config", {}).update(self.config_overrides.get(plugin["name"], {}))
                for model in plugin["config"].get("models", []) if plugin["name"] == "bedrock-proxy" else []:
                    model.update(self.model_overrides.get(model["name"], {}))
        for plugin in config.get("plugins", []):
            if plugin["name"] == "file-log" and not self.access_log_to_stdout:   # tests: the access log to a file
                plugin["config"]["path"] = str(self.workdir / "access.log")
        for consumer in config.get("consumers", []):
            if not self.rate_limits or self.consumer_rate_limit is not None:
                consumer["plugins"] = [p for p in consumer.get("plugins", []) if p["name"] != "rate-limiting"]
            if self.consumer_rate_limit is not None:
                consumer["plugins"].append({"name": "rate-limiting", "config": dict(self.consumer_rate_limit)})
        if self.kong_only_route:
            config["services"].append(self._kong_only_service(config))
        path = self.workdir / "kong.yaml"
        path.write_text(yaml.dump(config, Dumper=_SafeDumper, sort_keys=False))
        return path

    def _kong_only_service(self, config: dict) -> dict:
        """/kong-only/model/...: Bedrock straight from Kong, none of our plugins (the benchmark's floor).

        The same Kong plugins as the Bedrock routes (the global ones, the consumer's rate
        limit, key-auth and pre-function's bearer mapping: same Lua, same work) and the same
        one upstream hop, so a request here costs what Kong itself adds. pre-function reads and
        clears another header than `authorization`, which here carries the client's own SigV4
        signature. post-function, whose snapshot is work for our plugins only, is left out.
        """
        relay = next(s for s in config["services"] if s["name"] == "bedrock-relay")
        plugins = [json.loads(json.dumps(p)) for p in relay["plugins"] if p["name"] in ("pre-function", "key-auth")]
        for plugin in plugins:
            if plugin["name"] == "pre-function":
                plugin["config"]["access"] = [code.replace('"authorization"', '"x-kong-only-authorization"')
                                              for code in plugin["config"]["access"]]
        return {"name": "kong-only", "url": self.external_emulator_url or self.emulator.url, "retries": 0,
                "routes": [{"name": "kong-only", "paths": ["/kong-only"], "methods": ["POST"], "strip_path": True,
                            "request_buffering": True, "response_buffering": False}],
                "plugins": plugins}

    def _kong_env(self) -> dict[str, str]:
        exe = plugin_server_exe()
        start = (f"{exe} --kong-prefix {self.prefix} --socket-name bedrock.sock"
                 f" --relay-listen 127.0.0.1:{self.relay_port} --metrics-listen 127.0.0.1:{self.metrics_port}"
                 f" {self.extra_start_args}").rstrip()
        return {
            "KONG_PLUGINSERVER_BEDROCK_SOCKET": str(self.prefix / "bedrock.sock"),
            "KONG_PLUGINSERVER_BEDROCK_START_CMD": start,
            "KONG_PLUGINSERVER_BEDROCK_QUERY_CMD": _query_command(exe),
        }

    def _process_env(self) -> dict[str, str]:
        """What Kong's master process sees; kong.conf's nginx_main_env passes these on."""
        return {
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.aws_env,
            "BEDROCK_ENDPOINT_URL": self.external_emulator_url or self.emulator.url,
            "HOME": str(self.workdir),
            "PATH": os.environ.get("PATH", ""),
            **self.extra_process_env,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the gateway locally without Docker.")
    parser.add_argument("--proxy-port", type=int, default=8000)
    parser.add_argument("--status-port", type=int, default=8100)
    parser.add_argument("--relay-port", type=int, default=8787)
    parser.add_argument("--metrics-port", type=int, default=9542)
    parser.add_argument("--emulator-port", type=int, default=8010)
    args = parser.parse_args(argv)
    stack = GatewayStack(proxy_port=args.proxy_port, status_port=args.status_port, relay_port=args.relay_port,
                         metrics_port=args.metrics_port, emulator_port=args.emulator_port, rate_limits=True,
                         access_log_to_stdout=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stack.start()
        print(f"\nGateway up: proxy {stack.proxy_url}, status http://127.0.0.1:{stack.status_port}, "
              f"plugin-server metrics {stack.metrics_url}, Bedrock emulator {stack.emulator.url}\n\n"
              f"  curl -s {stack.proxy_url}/v1/messages -H 'X-API-Key: dev-developer-key' "
              f"-H 'content-type: application/json' \\\n"
              f"    -d '{{\"model\":\"sonnet\",\"max_tokens\":64,"
              f"\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'\n\n"
              "Ctrl-C stops everything.", flush=True)
        stop.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
