"""gevent WSGI serving tuned for the relay's one kept-alive client, Kong.

- TCP_NODELAY on every accepted connection: pywsgi writes in more than one
  send; with Nagle's algorithm on, a later send waits for the peer's delayed
  ACK (40 ms on Linux) on every kept-alive request.
- The status line, headers and first body bytes go out in one send (gevent 24+
  sends the headers and the body apart), so Kong wakes once for a non-streamed
  answer, and without gevent's SO_SNDBUF lookup before each send.
The relay sits on every LLM call, so each of these is paid on all of them.
"""

from __future__ import annotations

import socket
from typing import Any

from gevent.pywsgi import WSGIHandler, WSGIServer

from kong_plugins.socket_send import send_all


class RelayHandler(WSGIHandler):
    _held: bytearray | None = None   # the header block, while the first body bytes are added to it

    def handle(self) -> None:
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle()

    def _write_with_headers(self, data: bytes) -> None:
        self._held = bytearray()
        try:
            super()._write_with_headers(data)   # its sends land in self._held
        finally:
            held, self._held = self._held, None
        self._sendall(held)

    def _sendall(self, data: bytes | bytearray) -> None:
        if self._held is not None:
            self._held += data
            return
        try:
            send_all(self.socket, data)
        except OSError as exc:   # pywsgi's own bookkeeping of a failed write
            self.status = f"socket error: {exc}"
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += len(data)


def serve(host: str, port: int, app: Any) -> WSGIServer:
    """Start a WSGI server on (host, port) in the background; no access log."""
    server = WSGIServer((host, port), app, log=None, handler_class=RelayHandler)
    server.start()
    return server
