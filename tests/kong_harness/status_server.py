"""The status listener (kong/status/init.lua, kong/status/ready.lua, prometheus status_api).

Why: readiness probes hit ``/status/ready`` (200 once the declarative config is
loaded, 503 before) and Prometheus scrapes ``/metrics`` when the prometheus
plugin is loaded.
"""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .bundled import prometheus
from .constants import KONG_VERSION, SERVER_TOKENS
from .runtime import Runtime


class StatusServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], runtime: Runtime) -> None:
        self.runtime = runtime
        super().__init__(addr, _StatusHandler)


class _StatusHandler(BaseHTTPRequestHandler):
    server: StatusServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence stdlib logging
        return

    def _send(self, status: int, body: bytes, ctype: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Server", SERVER_TOKENS)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        rt = self.server.runtime
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/status":
            body = {
                "database": {"reachable": True},
                "memory": {"lua_shared_dicts": {}, "workers_lua_vms": []},
                "server": {"connections_accepted": rt.requests_total, "connections_active": rt.connections_active,
                           "connections_handled": rt.requests_total, "connections_reading": 0,
                           "connections_waiting": 0, "connections_writing": rt.connections_active,
                           "total_requests": rt.requests_total},
                "configuration_hash": "00000000000000000000000000000000",
            }
            self._send(200, json.dumps(body).encode())
        elif path == "/status/ready":
            if rt.ready.is_set():
                self._send(200, b'{"message":"ready"}')
            else:
                self._send(503, b'{"message":"no configuration available (empty configuration present)"}')
        elif path == "/metrics" and "prometheus" in rt.conf.loaded_plugins:
            text = prometheus.exposition(rt.node_id, KONG_VERSION, rt.requests_total, rt.connections_active)
            self._send(200, text.encode(), "text/plain; charset=UTF-8")
        else:
            self._send(404, b'{"message":"Not found"}')
