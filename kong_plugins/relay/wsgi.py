"""gevent WSGI serving tuned for the relay's one kept-alive client, Kong.

- TCP_NODELAY on every accepted connection: pywsgi writes in more than one
  send; with Nagle's algorithm on, a later send waits for the peer's delayed
  ACK (40 ms on Linux) on every kept-alive request.
- The status line, headers and first body bytes go out in one send (gevent 24+
  sends the headers and the body apart), so Kong wakes once for a non-streamed
  answer, and without gevent's SO_SNDBUF lookup before each send.
- Request headers are split into name and value lines directly, not through the
  email package's feed parser (pywsgi's default): 5 instead of 40 us for Kong's
  18 headers.
The relay sits on every LLM call, so each of these is paid on all of them.
"""

from __future__ import annotations

import socket
from typing import Any

from gevent.pywsgi import OldMessage, WSGIHandler, WSGIServer

from kong_plugins.relay.stream_errors import StreamCut
from kong_plugins.socket_send import send_all


MAX_LINE = 65536     # http.client's _MAXLINE, which pywsgi's default parser applies
MAX_HEADERS = 100    # http.client's _MAXHEADERS


def read_headers(rfile: Any, *_: Any) -> OldMessage:
    """The header block as pywsgi's OldMessage; a bad block sets `status`, which pywsgi answers with 400.

    Folded (obs-fold) lines, lines without a colon and space before the colon are
    refused, as RFC 9112 section 5 allows a server to.
    """
    message = OldMessage()
    headers = message._headers
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            message.status = "Line too long"
            return message
        if line in (b"\r\n", b"\n", b""):
            return message
        if len(headers) == MAX_HEADERS:
            message.status = "Too many headers"
            return message
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            message.status = "Invalid header line"
            return message
        headers.append((name, value.strip(" \t\r\n")))


class RelayHandler(WSGIHandler):
    _held: bytearray | None = None   # the header block, while the first body bytes are added to it
    MessageClass = staticmethod(read_headers)

    def handle(self) -> None:
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle()

    def process_result(self) -> None:
        try:
            super().process_result()
        except StreamCut:   # no last chunk: Kong (nginx) sees its upstream cut and cuts the client's response
            self.close_connection = True

    def log_request(self) -> None:
        """No access log (the server's log is off; pywsgi would still format the line)."""

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
