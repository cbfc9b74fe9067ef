"""EmulatorServer: a threaded HTTP/1.1 server running in a background thread.

Tests embed it in-process; the CLI wraps it. Convenience methods mirror the control API so
in-process tests need no HTTP round-trip to set faults or read the request log.
"""

from __future__ import annotations

import socket
import sys
import threading
from dataclasses import asdict
from http.server import ThreadingHTTPServer
from typing import Any

from .handler import EmulatorHandler
from .settings import EmulatorSettings
from .state import EmulatorState


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, EmulatorHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-request are normal for a test double; report anything else."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Drop idle keep-alive connections so a stopped emulator really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """A fake Bedrock Runtime endpoint. ``start()`` returns self; also a context manager."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self.state = EmulatorState(self.settings)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> "EmulatorServer":
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.settings.host, self.settings.port), self.state)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="bedrock-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.state.hold.release()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("emulator is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    # -- control shortcuts (same effects as the /_emulator/ routes) ---------------------
    def update_settings(self, **changes: Any) -> dict[str, Any]:
        return asdict(self.state.timing.update(changes))

    def add_fault(self, type: str, **options: Any) -> int:  # noqa: A002 - matches the JSON field
        return self.state.faults.add({"type": type, **options}).id

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def hold(self) -> None:
        self.state.hold.hold()

    def release(self) -> None:
        self.state.hold.release()

    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests.list()

    def clear_requests(self) -> None:
        self.state.requests.clear()

    def stats(self) -> dict[str, Any]:
        return self.state.stats.snapshot()

    def connections_opened(self) -> int:
        """Connections that carried a model request (GET /_emulator/connections)."""
        return self.state.connections.opened

    def reset(self) -> None:
        self.state.reset()
