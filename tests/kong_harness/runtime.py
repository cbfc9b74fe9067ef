"""Node-wide state shared by the simulated nginx workers.

Why: Kong runs N nginx workers, each with its own Lua VM: its own
``running_instances`` table and RPC objects (msgid counter + cosocket pool),
while shared dicts and worker events cross workers.  ``plugin_servers.start``
registers the ``plugin_server/reset_instances`` handler on worker 0 only
(kong/runloop/plugin_servers/init.lua), which is what makes issue #12364
reproducible with ``workers=2``.
"""
from __future__ import annotations

import itertools
import os
import queue
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Any

from .conf import KongConf
from .errlog import ErrorLog
from .rpc import Rpc
from .stats import RequestStats, SocketCapture

if TYPE_CHECKING:  # pragma: no cover
    from .declarative import DeclarativeConfig
    from .plugins_iterator import PluginsIterator
    from .request_ctx import RequestContext
    from .router import Router


class Worker:
    """One simulated nginx worker process."""

    def __init__(self, runtime: "Runtime", worker_id: int) -> None:
        self.runtime = runtime
        self.id = worker_id
        self.lock = threading.RLock()
        self.running_instances: dict[Any, dict] = {}
        self._rpcs: dict[str, Rpc] = {}
        self.file_log_fds: dict[str, int] = {}   # file-log's per-worker `file_descriptors` table

    def rpc_for(self, server_name: str) -> Rpc:
        """plugin_servers/init.lua get_server_rpc (one Rpc per server per worker)."""
        with self.lock:
            rpc = self._rpcs.get(server_name)
            if rpc is None:
                sdef = self.runtime.server_def(server_name)
                rpc = Rpc(self.runtime, self, server_name, sdef.socket)
                self._rpcs[server_name] = rpc
            return rpc

    def reset_instances_for_plugin(self, plugin_name: str) -> None:
        """plugin_servers/init.lua reset_instances_for_plugin."""
        with self.lock:
            for key in [k for k, v in self.running_instances.items() if v.get("plugin_name") == plugin_name]:
                del self.running_instances[key]

    def drop_instances_of_rpc(self, rpc: Rpc) -> None:
        with self.lock:
            for key in [k for k, v in self.running_instances.items() if v.get("rpc") is rpc]:
                del self.running_instances[key]

    def close(self) -> None:
        with self.lock:
            for rpc in self._rpcs.values():
                rpc.close_pool()
            for fd in self.file_log_fds.values():
                os.close(fd)
            self.file_log_fds.clear()


class Runtime:
    """Everything a request needs besides its own context."""

    def __init__(self, conf: KongConf, errlog: ErrorLog, workers: int, rpc_timeout: float,
                 max_no_instance_retries: int) -> None:
        self.conf = conf
        self.errlog = errlog
        self.stats = RequestStats()
        self.capture = SocketCapture()
        self.rpc_timeout = rpc_timeout
        self.max_no_instance_retries = max_no_instance_retries
        self.socket_pool_size = int(conf.get("lua_socket_pool_size") or 256)
        self.node_id = str(uuid.uuid4())
        self.hostname = socket.gethostname()
        self.workers = [Worker(self, i) for i in range(max(1, workers))]
        self._rr = itertools.count()
        self._rr_lock = threading.Lock()
        self.server_defs = {s.name: s for s in conf.server_defs}
        self.dc: "DeclarativeConfig | None" = None
        self.router: "Router | None" = None
        self.iterator: "PluginsIterator | None" = None
        self.shm: dict[str, Any] = {}
        self.shm_lock = threading.Lock()
        self.ready = threading.Event()
        self._events: "queue.Queue[tuple[str, str, dict] | None]" = queue.Queue()
        self._event_thread = threading.Thread(target=self._dispatch_events, name="worker-events", daemon=True)
        self._event_thread.start()
        self.connections_active = 0
        self.requests_total = 0

    def server_def(self, name: str):
        return self.server_defs[name]

    def next_worker(self) -> Worker:
        with self._rr_lock:
            return self.workers[next(self._rr) % len(self.workers)]

    # -- worker events (resty.events; handler registered on worker 0 only) -----
    def post_worker_event(self, source: str, event: str, data: dict) -> None:
        self._events.put((source, event, data))

    def _dispatch_events(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            source, event, data = item
            if (source, event) == ("plugin_server", "reset_instances"):
                self.workers[0].reset_instances_for_plugin(data.get("plugin_name"))

    def stop(self) -> None:
        self._events.put(None)
        for w in self.workers:
            w.close()

    # -- logging ---------------------------------------------------------
    def log_for(self, rq: "RequestContext | None", level: str, msg: str, src: str | None = None,
                plugin: str | None = None) -> None:
        """A ``kong.log.*`` line with Kong's namespace prefix and nginx request context."""
        ns = plugin or (rq.current_plugin if rq is not None else None)
        parts = []
        if src:
            parts.append(src)
        if ns:
            parts.append("[%s]" % ns)
        parts.append(msg)
        line = " ".join(parts)
        if rq is not None:
            if rq.in_timer:
                line += ", context: ngx.timer"
            else:
                line += ', client: %s, server: kong, request: "%s %s HTTP/%s", host: "%s", request_id: "%s"' % (
                    rq.remote_addr, rq.method, rq.request_uri, rq.http_version, rq.host_header or "",
                    rq.request_id)
        self.errlog.log(level, line, worker=rq.worker.id if rq is not None else None)

    # -- data access -----------------------------------------------------
    def consumers_view(self) -> dict[str, dict]:
        """``kong.db.consumers:select`` rows (no ws_id unless show_ws_id)."""
        if self.dc is None:
            return {}
        return {cid: {k: v for k, v in c.items() if k != "ws_id"} for cid, c in self.dc.entities["consumers"].items()}

    def is_trusted(self, ip: str | None) -> bool:
        return False  # trusted_ips = NONE (kong/pdk/ip.lua)

    def connection_stats(self) -> dict:
        return {"connections_active": self.connections_active, "connections_reading": 0,
                "connections_writing": self.connections_active, "connections_waiting": 0,
                "connections_accepted": self.requests_total, "connections_handled": self.requests_total,
                "total_requests": self.requests_total}
