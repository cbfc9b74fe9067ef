"""Writing a response to the downstream client (nginx's header/body output).

Why: the runloop must be able to send headers as soon as the upstream
answers, flush each streamed chunk immediately (``proxy_buffering off``),
notice client disconnects, and count ``$bytes_sent`` for ``kong.log.serialize``.
"""
from __future__ import annotations

import socket
from email.utils import formatdate
from http import HTTPStatus

from .headers import HeaderList


class ClientGone(Exception):
    """The downstream connection was closed while writing."""


def reason(status: int) -> str:
    if status == 494:
        return "Request Header Or Cookie Too Large"
    if status == 499:
        return "Client Closed Request"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class ClientWriter:
    """One response on a keep-alive client connection."""

    def __init__(self, sock: socket.socket, http_version: str, keep_alive: bool, is_head: bool) -> None:
        self.sock = sock
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.is_head = is_head
        self.head_sent = False
        self.mode = "length"
        self.bytes_sent = 0
        self.finished = False

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.keep_alive = False
            raise ClientGone(str(e)) from None
        self.bytes_sent += len(data)

    def send_head(self, status: int, headers: HeaderList, mode: str) -> None:
        """``mode``: "length" (Content-Length present), "chunked", "close" or "none"."""
        if self.http_version == "HTTP/1.0" and mode == "chunked":
            mode = "close"
        if mode == "close":
            self.keep_alive = False
        self.mode = mode
        lines = ["HTTP/1.1 %d %s" % (status, reason(status))]
        items = headers.items()
        if not headers.has("Date"):  # nginx always sends Date (upstream's one when proxied)
            lines.append("Date: " + formatdate(usegmt=True))
        first = [(n, v) for n, v in items if n.lower() in ("content-type", "content-length")]
        rest = [(n, v) for n, v in items if n.lower() not in ("content-type", "content-length", "connection",
                                                               "transfer-encoding", "keep-alive")]
        for n, v in first:
            lines.append("%s: %s" % (n, v))
        if mode == "chunked":
            lines.append("Transfer-Encoding: chunked")
        lines.append("Connection: %s" % ("keep-alive" if self.keep_alive else "close"))
        for n, v in rest:
            lines.append("%s: %s" % (n, v))
        self._send(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape"))
        self.head_sent = True

    def send_body(self, data: bytes) -> None:
        if self.is_head or not data or self.mode == "none":
            return
        if self.mode == "chunked":
            self._send(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self._send(data)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self.mode == "chunked" and not self.is_head:
            self._send(b"0\r\n\r\n")
