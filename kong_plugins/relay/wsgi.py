"""gevent WSGI serving with TCP_NODELAY on every accepted connection.

pywsgi writes a response's headers and body in separate sends; with Nagle's
algorithm on, the second send waits for the peer's delayed ACK (40 ms on
Linux) on every kept-alive request. The relay sits on every LLM call, so that
stall would dominate the gateway's overhead.
"""

from __future__ import annotations

import socket
from typing import Any

from gevent.pywsgi import WSGIHandler, WSGIServer


class NoDelayHandler(WSGIHandler):
    def handle(self) -> None:
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle()


def serve(host: str, port: int, app: Any) -> WSGIServer:
    """Start a WSGI server on (host, port) in the background; no access log."""
    server = WSGIServer((host, port), app, log=None, handler_class=NoDelayHandler)
    server.start()
    return server
