"""``KongHarness``: a Kong Gateway OSS 3.6.1 stand-in for tests.

Why: no Kong binary exists where the tests run.  Start-up follows Kong's
order (kong/init.lua Kong.init/init_worker): load kong.conf + KONG_* env,
query the plugin servers (process.lua ask_info), load plugin handlers and
schemas (db/dao/plugins.lua), parse the declarative file, build the plugins
iterator and router, then worker 0 spawns the plugin servers
(plugin_servers.start) and the listeners accept traffic.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any, Mapping

from . import constants as C
from .bundled.registry import EMULATED, runner
from .conf import ConfError, KongConf, load, worker_environment
from .dc_schema import build_entities, build_plugin_schemas, load_schema_data
from .declarative import DeclarativeConfig, DeclarativeError, empty_config, parse_file
from .errlog import ErrorLog, echo_stream
from .external import make_runner
from .http_server import ProxyServer
from .plugin_info import PluginLoadError, check_handler, collect_plugin_infos
from .plugins_iterator import PluginHandler, PluginsIterator
from .process import PluginServerProcess
from .proxy_pass import Proxier
from .router import Router
from .runloop import Runloop
from .runtime import Runtime
from .status_server import StatusServer
from .upstream import UpstreamPool


class HarnessStartError(Exception):
    """Kong would refuse to start; the message uses Kong's wording."""


def _parse_listen(value: str) -> tuple[str, int]:
    first = value.split(",")[0].strip().split()[0]
    host, _, port = first.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


class KongHarness:
    """See /work/main/.specs/harness.md for the public API."""

    def __init__(self, declarative_config: str | None = None, kong_conf: str | None = None,
                 env: Mapping[str, str] | None = None, process_env: Mapping[str, str] | None = None,
                 prefix: str | None = None, proxy_listen: str = "127.0.0.1:0",
                 status_listen: str = "127.0.0.1:0", workers: int = 1, rpc_timeout: float = 60.0,
                 max_no_instance_retries: int = 10000, echo_log: bool = False,
                 socket_wait: float = 30.0) -> None:
        self.declarative_config = declarative_config
        self.kong_conf = kong_conf
        self.env = dict(env or {})
        self.process_env = dict(process_env) if process_env is not None else dict(os.environ)
        self.prefix = prefix
        self.proxy_listen = proxy_listen
        self.status_listen = status_listen
        self.workers = workers
        self.rpc_timeout = rpc_timeout
        self.max_no_instance_retries = max_no_instance_retries
        self.echo_log = echo_log
        self.socket_wait = socket_wait
        self.conf: KongConf | None = None
        self.runtime: Runtime | None = None
        self.config: DeclarativeConfig | None = None
        self._errlog = ErrorLog("notice", echo_stream() if echo_log else None)
        self._servers: dict[str, PluginServerProcess] = {}
        self._output: dict[str, list[str]] = {}
        self._output_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._proxy: ProxyServer | None = None
        self._status: StatusServer | None = None
        self._pool = UpstreamPool()
        self.proxy_url = ""
        self.status_url = ""

    # -- start-up ------------------------------------------------------------
    def start(self) -> "KongHarness":
        try:
            self._start()
        except HarnessStartError:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        master_env = dict(self.process_env)
        master_env.update(self.env)
        try:
            conf = load(self.kong_conf, self.env, self.process_env)
        except (ConfError, OSError) as e:
            raise HarnessStartError(str(e)) from None
        self.conf = conf
        self._errlog.set_level(conf.log_level)
        prefix = self.prefix or conf.get("prefix") or "/usr/local/kong/"
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        os.makedirs(os.path.join(prefix, "pids"), exist_ok=True)   # kong/templates/nginx.lua: pid pids/nginx.pid;
        with open(os.path.join(prefix, "pids", "nginx.pid"), "w", encoding="ascii") as pid_file:
            pid_file.write(f"{os.getpid()}\n")   # this process is Kong's master and its workers
        runtime = Runtime(conf, self._errlog, self.workers, self.rpc_timeout, self.max_no_instance_retries)
        self.runtime = runtime

        def log(level: str, msg: str) -> None:
            self._errlog.log(level, msg)

        try:
            externals = collect_plugin_infos(conf.server_defs, master_env, log)
        except PluginLoadError as e:
            raise HarnessStartError(str(e)) from None
        errs = []
        for name in conf.loaded_plugins:
            if name in C.BUNDLED_PLUGINS:
                continue
            err = check_handler(name, externals.get(name))
            if err:
                errs.append("on plugin '%s': %s" % (name, err))
        if errs:
            raise HarnessStartError("error loading plugin schemas: " + "; ".join(errs))

        data = load_schema_data()
        entities = build_entities(data, conf.loaded_plugins)
        plugin_schemas = build_plugin_schemas(data, conf.loaded_plugins, externals)
        dc_path = self.declarative_config or conf.get("declarative_config")
        try:
            dc = parse_file(dc_path, entities, plugin_schemas) if dc_path else empty_config(entities, plugin_schemas)
        except DeclarativeError as e:
            raise HarnessStartError(str(e)) from None
        if dc_path:
            self._errlog.log("notice", "declarative config loaded from " + dc_path)
        self.config = dc
        runtime.dc = dc

        handlers = []
        for name in conf.loaded_plugins:
            schema = plugin_schemas.get(name)
            scope = dict(no_consumer=bool(schema and schema.no_scope("consumer")),
                         no_route=bool(schema and schema.no_scope("route")),
                         no_service=bool(schema and schema.no_scope("service")))
            if name in EMULATED:
                mod = EMULATED[name]
                handlers.append(PluginHandler(name, mod.PRIORITY, set(mod.PHASES), "bundled", run=runner(mod), **scope))
            elif name in C.BUNDLED_PLUGINS:
                raw = data["plugins"].get(name, {})
                handlers.append(PluginHandler(name, raw.get("handler_PRIORITY") or 0,
                                              set(raw.get("handler_phases") or []), "inactive", **scope))
            else:
                info = externals[name]
                handlers.append(PluginHandler(name, int(info.priority), set(info.phases), "external",
                                              run=make_runner(info.server_def.name), server=info.server_def.name,
                                              **scope))
        for plugin in dc.of("plugins"):
            validate = getattr(EMULATED.get(plugin["name"]), "validate", None)
            if validate is not None:
                try:
                    validate(plugin["config"])
                except ValueError as e:
                    raise HarnessStartError("declarative config is invalid: %s" % e) from None
            if plugin["name"] not in EMULATED and plugin["name"] in C.BUNDLED_PLUGINS:
                self._errlog.log("warn", "plugin '%s' is configured but not emulated by the harness; "
                                 "it will not run" % plugin["name"])
        seq = iter(range(1, 1 << 30))
        try:
            runtime.iterator = PluginsIterator.build(handlers, dc.of("plugins"), lambda: next(seq))
        except ValueError as e:
            raise HarnessStartError("error building initial plugins iterator: %s" % e) from None
        runtime.router = Router(dc.of("routes"), dc.entities["services"])

        # init_worker of worker 0: plugin_servers.start()
        worker_env = worker_environment(conf.nginx_env, master_env)
        for sdef in conf.server_defs:
            if not sdef.start_command:
                continue
            proc = PluginServerProcess(sdef, worker_env, self._errlog, self._on_line)
            self._servers[sdef.name] = proc
            proc.start()
        for sdef in conf.server_defs:
            proc = self._servers.get(sdef.name)
            if proc is not None and not proc.wait_socket(sdef.socket, self.socket_wait):
                self._errlog.log("warn", "plugin server '%s' socket %s did not accept connections within %.0fs"
                                 % (sdef.name, sdef.socket, self.socket_wait))

        proxier = Proxier(runtime, self._pool)
        runloop = Runloop(runtime, proxier)
        try:
            self._proxy = ProxyServer(_parse_listen(self.proxy_listen), runtime, runloop)
            self._status = StatusServer(_parse_listen(self.status_listen), runtime)
        except OSError as e:
            raise HarnessStartError("nginx: [emerg] bind() failed (%s)" % e) from None
        for srv in (self._proxy, self._status):   # the poll interval is only how soon stop() is noticed
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
            t.start()
            self._threads.append(t)
        host, port = self._proxy.server_address[:2]
        self.proxy_url = "http://%s:%d" % (host, port)
        host, port = self._status.server_address[:2]
        self.status_url = "http://%s:%d" % (host, port)
        runtime.ready.set()

    def _on_line(self, name: str, pid: int, line: str) -> None:
        with self._output_lock:
            self._output.setdefault(name, []).append(line)

    # -- shutdown --------------------------------------------------------------
    def stop(self) -> None:
        for srv in (self._proxy, self._status):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
        self._proxy = self._status = None
        for proc in self._servers.values():
            proc.stop()
        if self.runtime is not None:
            self.runtime.stop()
        self._pool.close_all()
        for t in self._threads:
            t.join(5)
        self._threads.clear()

    def __enter__(self) -> "KongHarness":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- introspection -----------------------------------------------------------
    def request_stats(self, request_id: str) -> dict:
        return self.runtime.stats.get(request_id)

    def wait_for_log(self, request_id: str, timeout: float = 5.0) -> bool:
        return self.runtime.stats.wait(request_id, timeout)

    def plugin_server_pids(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {s.name: None for s in (self.conf.server_defs if self.conf else [])}
        for name, proc in self._servers.items():
            out[name] = proc.pid
        return out

    def plugin_server_output(self, name: str) -> list[str]:
        with self._output_lock:
            return list(self._output.get(name, []))

    def kill_plugin_server(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Test helper: signal the supervised server (Kong's loop respawns it)."""
        self._servers[name].kill(sig)

    def plugin_server_process(self, name: str) -> PluginServerProcess:
        return self._servers[name]

    @property
    def error_log(self) -> list[str]:
        return self._errlog.lines()

    @property
    def rpc_socket_bytes(self) -> list[dict]:
        return self.runtime.capture.snapshot() if self.runtime else []
