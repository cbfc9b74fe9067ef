"""Entry point Kong runs as `pluginserver_<name>_start_cmd` and `_query_cmd`.

    kong-bedrock-plugins --dump                  # query_cmd: plugin info JSON, nothing else
    kong-bedrock-plugins --kong-prefix DIR ...   # start_cmd: serve on DIR/<socket-name>

gevent is patched before anything else is imported: kong-pdk runs in gevent
mode (one process, so every plugin and the relay share the in-process request
context; multiprocessing would split it), and ssl/urllib3/botocore must see the
patched socket module.
"""

from gevent import monkey


def _patch_all() -> None:
    """gevent's patch_all, reading the installed packages' entry points once.

    gevent looks up its plugin entry points at each of its ~25 patch events, and each lookup reads every
    installed package's metadata: 0.45 s of a 0.6 s start with 180 packages (Kong waits for the socket,
    and so does a restarted pod). The packages do not change while it patches, so one read serves all.
    gevent imports importlib.metadata before it patches anything; so do we.
    """
    from importlib import metadata

    lookup, every = metadata.entry_points, metadata.entry_points()
    metadata.entry_points = lambda **selection: every.select(**selection) if selection else every
    try:
        monkey.patch_all()
    finally:
        metadata.entry_points = lookup


_patch_all()

import argparse  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from types import ModuleType  # noqa: E402

import gevent  # noqa: E402

from kong_plugins import restart_marker  # noqa: E402

PLUGIN_MODULES = {
    "bedrock-proxy": "kong_plugins.bedrock_proxy",
    "token-meter": "kong_plugins.token_meter",
    "ecommerce-guardrails": "kong_plugins.ecommerce_guardrails",
}
DEFAULT_SOCKET_NAME = "bedrock.sock"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kong-bedrock-plugins", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", action="store_true", help="print the plugin info JSON Kong reads, then exit")
    parser.add_argument("-p", "--kong-prefix", default="/usr/local/kong",
                        help="directory of the Unix socket (Kong's prefix); default %(default)s")
    parser.add_argument("--socket-name", default=DEFAULT_SOCKET_NAME,
                        help="socket file name; Kong's pluginserver_<name>_socket must equal PREFIX/NAME")
    parser.add_argument("--relay-listen", default="127.0.0.1:8787",
                        help="loopback host:port of the Bedrock relay; default %(default)s")
    parser.add_argument("--metrics-listen", default="0.0.0.0:9542",
                        help="host:port of the Prometheus exporter; default %(default)s")
    parser.add_argument("--bedrock-endpoint-url", default=os.environ.get("BEDROCK_ENDPOINT_URL") or None,
                        help="override the Bedrock Runtime endpoint (e.g. the emulator)")
    parser.add_argument("--bedrock-mantle-endpoint-url", default=os.environ.get("BEDROCK_MANTLE_ENDPOINT_URL") or None,
                        help="override Bedrock Mantle's Anthropic endpoint (default: <endpoint-url>/anthropic "
                             "when --bedrock-endpoint-url is set, else bedrock-mantle.<region>.api.aws/anthropic)")
    parser.add_argument("--bedrock-connect-timeout", type=float, default=5.0)
    parser.add_argument("--bedrock-read-timeout", type=float, default=300.0)
    parser.add_argument("--bedrock-max-attempts", type=int, default=3,
                        help="attempts per model on throttling/5xx (botocore standard retry mode)")
    parser.add_argument("--listen-queue-size", type=int, default=4096)
    parser.add_argument("--fail-health-after-restart", action="store_true",
                        help="answer /health with 503 once this server was respawned by Kong (answer to Kong "
                             "3.6.1 issue #12364: let the liveness probe restart the pod)")
    parser.add_argument("--log-level", choices=["debug", "info", "warn", "error"], default="info",
                        help="level of the server's own JSON log lines (metadata only at every level)")
    parser.add_argument("-v", "--verbose", action="count", default=1,
                        help="kong-pdk's own log lines: INFO by default, -v for DEBUG (plugin loading, instance clean-up; "
                             "RPC payloads are never logged: rpc_listener replaces kong-pdk's listener)")
    return parser.parse_args(argv)


def load_plugin_modules() -> dict[str, ModuleType]:
    import importlib

    return {name: importlib.import_module(path) for name, path in PLUGIN_MODULES.items()}


def plugin_info() -> list[dict]:
    """What `--dump` prints: kong-pdk's own info shape for each plugin."""
    from kong_pdk.server import PluginServer

    server = _plugin_server(PluginServer, loglevel=5)
    return [server.get_plugin_info(name) for name in PLUGIN_MODULES]


def _plugin_server(plugin_server_cls: type, loglevel: int):  # noqa: ANN202 - kong_pdk is untyped
    from kong_pdk.module import Module

    server = plugin_server_cls(loglevel=loglevel, use_gevent=True, lua_style=False)
    for name, module in load_plugin_modules().items():
        server.plugins[name] = Module(name, module=module)
    return server


def _split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def serve(args: argparse.Namespace) -> None:
    from kong_pdk.logger import Logger
    from prometheus_client import make_wsgi_app

    from kong_plugins.bedrock.client import BedrockClient, BedrockSettings
    from kong_plugins.bedrock.retries import RetryBudget
    from kong_plugins.context import store
    from kong_plugins.eventlog import log_event, set_level
    from kong_plugins.malloc_tuning import return_large_buffers
    from kong_plugins import metrics
    from kong_plugins.relay.app import RelayApp
    from kong_plugins.relay import wsgi
    from kong_plugins.relay.safety import never_raise
    from kong_plugins.pdk_events import GreenletPluginServer, phase_handlers
    from kong_plugins.rpc_listener import QuietUnixStreamServer

    set_level(args.log_level)
    return_large_buffers()
    relay_host, relay_port = _split_listen(args.relay_listen)
    if not ipaddress.ip_address(relay_host).is_loopback:
        raise SystemExit("--relay-listen must be a loopback address: the relay trusts Kong alone")
    if not os.path.isdir(args.kong_prefix):
        raise SystemExit(f"--kong-prefix {args.kong_prefix} does not exist")

    client = BedrockClient(BedrockSettings(endpoint_url=args.bedrock_endpoint_url,
                                           mantle_endpoint_url=args.bedrock_mantle_endpoint_url,
                                           connect_timeout=args.bedrock_connect_timeout,
                                           read_timeout=args.bedrock_read_timeout))
    respawned = restart_marker.mark_started(args.kong_prefix)
    relay = RelayApp(client, store, RetryBudget(args.bedrock_max_attempts),
                     healthy=not (respawned and args.fail_health_after_restart))
    wsgi.serve(relay_host, relay_port, never_raise(relay))
    metrics_host, metrics_port = _split_listen(args.metrics_listen)
    wsgi.serve(metrics_host, metrics_port, make_wsgi_app(metrics.registry))

    plugin_server = _plugin_server(GreenletPluginServer, loglevel=Logger.WARNING - args.verbose)
    metrics.live_request_contexts.set_function(lambda: len(store))
    metrics.pending_pdk_events.set_function(lambda: len(plugin_server.events))
    metrics.plugin_instances.set_function(lambda: len(plugin_server.instances))
    metrics.phase_handlers.set_function(lambda: phase_handlers.running)
    socket_server = QuietUnixStreamServer(plugin_server, args.kong_prefix, sock_name=args.socket_name,
                                          use_gevent=True, listen_queue_size=args.listen_queue_size)
    gevent.spawn(_exit_when_orphaned, os.getppid())
    gevent.signal_handler(signal.SIGTERM, _stop, socket_server.path)
    log_event("plugin_server_started", pid=os.getpid(), socket=socket_server.path,
              relay=f"{relay_host}:{relay_port}", metrics=f"{metrics_host}:{metrics_port}",
              bedrock_endpoint=args.bedrock_endpoint_url or "aws", plugins=list(PLUGIN_MODULES))
    socket_server.serve_forever()


def _exit_when_orphaned(parent_pid: int) -> None:
    """Exit when Kong (our parent) is gone, whoever adopted us.

    kong-pdk's own watchdog only checks for ppid 1, which misses subreapers.
    """
    while True:
        gevent.sleep(1.0)
        if os.getppid() != parent_pid:
            _stop_now(0)


def _stop(socket_path: str) -> None:
    try:
        os.unlink(socket_path)
    except OSError:
        pass
    _stop_now(0)


def _stop_now(code: int) -> None:
    sys.stdout.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dump:
        warnings.simplefilter("ignore")
        sys.stdout.write(json.dumps(plugin_info()))
        sys.stdout.flush()
        return 0
    serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
