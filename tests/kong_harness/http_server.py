"""The proxy listener: a threaded HTTP/1.1 server with keep-alive and TCP_NODELAY.

Why: clients (SDKs, curl, load tests with ~200 concurrent streams) talk to
Kong over HTTP/1.1 keep-alive; nginx applies ``client_max_body_size`` (413)
before any Lua phase, answers ``Expect: 100-continue`` when the body is read,
and hands each request to a worker.  Requests are spread over the simulated
workers round-robin.

Client timeouts are nginx's defaults, which Kong 3.6 keeps (kong/templates/nginx_kong.lua sets none of them):
``client_header_timeout`` and ``client_body_timeout`` 60 s between reads, ``send_timeout`` 60 s,
``keepalive_timeout`` 75 s for the next request on a kept-alive connection. A client that stops sending or
reading is dropped then, as nginx drops it (ngx_http_request_body.c marks the connection timed out and in
error: no response is sent), instead of holding its thread for ever.
"""
from __future__ import annotations

import os
import socket
import socketserver
import threading
import time
from typing import Iterator

from .client_io import ClientGone, ClientWriter
from .headers import HeaderList
from .request_ctx import BodySource, BodyTooLarge, RequestContext
from .runloop import Runloop
from .runtime import Runtime

CLIENT_TIMEOUT_S = 60.0
KEEPALIVE_TIMEOUT_S = 75.0


class _Body:
    """Lazily read request body (Content-Length or chunked)."""

    def __init__(self, rfile, sock: socket.socket, length: int | None, chunked: bool, expect: bool,
                 max_size: int) -> None:
        self.rfile = rfile
        self.sock = sock
        self.length = length
        self.chunked = chunked
        self.expect = expect
        self.max_size = max_size
        self.continue_sent = False
        self.consumed = length in (None, 0) and not chunked
        self.total = 0

    def _maybe_continue(self) -> None:
        if self.expect and not self.continue_sent:
            self.continue_sent = True
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _account(self, n: int) -> None:
        self.total += n
        if self.max_size and self.total > self.max_size:
            raise BodyTooLarge()

    def iter_chunks(self) -> Iterator[bytes]:
        try:
            yield from self._chunks()
        except TimeoutError:
            raise ClientGone("client timed out sending body") from None

    def _chunks(self) -> Iterator[bytes]:
        if self.consumed:
            return
        self._maybe_continue()
        if self.chunked:
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ClientGone("client closed while sending body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = self.rfile.read(size)
                self.rfile.readline(3)
                self._account(len(data))
                yield data
        else:
            left = self.length or 0
            while left > 0:
                data = self.rfile.read1(min(left, 65536))
                if not data:
                    raise ClientGone("client closed while sending body")
                left -= len(data)
                self._account(len(data))
                yield data
        self.consumed = True

    def read_all(self) -> bytes:
        return b"".join(self.iter_chunks())

    def drain(self) -> bool:
        try:
            for _ in self.iter_chunks():
                pass
            return True
        except (ClientGone, BodyTooLarge, OSError, ValueError):
            return False


class ProxyServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr: tuple[str, int], runtime: Runtime, runloop: Runloop) -> None:
        self.runtime = runtime
        self.runloop = runloop
        self.conn_counter = 0
        self.conn_lock = threading.Lock()
        super().__init__(addr, _Handler)


class _Handler(socketserver.BaseRequestHandler):
    server: ProxyServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile = sock.makefile("rb", buffering=65536)
        runtime = self.server.runtime
        with self.server.conn_lock:
            self.server.conn_counter += 1
            conn_no = self.server.conn_counter
        runtime.connections_active += 1
        requests = 0
        try:
            while True:
                requests += 1
                sock.settimeout(CLIENT_TIMEOUT_S if requests == 1 else KEEPALIVE_TIMEOUT_S)
                if not self._one(sock, rfile, conn_no, requests):
                    break
        except (OSError, ValueError, ClientGone):
            pass
        finally:
            runtime.connections_active -= 1
            try:
                rfile.close()
            except OSError:
                pass

    def _one(self, sock: socket.socket, rfile, conn_no: int, nreq: int) -> bool:
        line = rfile.readline(65537)
        while line in (b"\r\n", b"\n"):
            line = rfile.readline(65537)
        if not line:
            return False
        sock.settimeout(CLIENT_TIMEOUT_S)
        start = time.time()
        parts = line.decode("utf-8", "surrogateescape").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return False
        method, uri, version = parts
        headers = HeaderList()
        size = len(line)
        while True:
            h = rfile.readline(65537)
            if not h:
                return False
            size += len(h)
            if h in (b"\r\n", b"\n"):
                break
            name, _, value = h.decode("utf-8", "surrogateescape").partition(":")
            headers.add(name.strip(), value.strip())
        conn_hdr = (headers.get_first("connection") or "").lower()
        keep_alive = ("close" not in conn_hdr) if version == "HTTP/1.1" else ("keep-alive" in conn_hdr)
        te = (headers.get_first("transfer-encoding") or "").lower()
        chunked = "chunked" in te
        cl = headers.get_first("content-length")
        length = int(cl) if cl and cl.strip().isdigit() and not chunked else None
        runtime = self.server.runtime
        max_size = runtime.conf.client_max_body_size
        body = _Body(rfile, sock, length, chunked,
                     (headers.get_first("expect") or "").lower() == "100-continue", max_size)
        peer = sock.getpeername()
        local = sock.getsockname()
        rq = RequestContext(
            runtime=runtime, worker=runtime.next_worker(), request_id=os.urandom(16).hex(),
            method=method, request_uri=uri, http_version=1.1 if version == "HTTP/1.1" else 1.0,
            scheme="http", host_header=headers.get_first("host"), server_addr=local[0],
            server_port=local[1], remote_addr=peer[0], remote_port=peer[1], req_headers=headers,
            body_source=BodySource(body.read_all, body.iter_chunks, length, chunked),
            start_time=start, connection=conn_no, connection_requests=nreq,
        )
        rq.var["request_length"] = size + (length or 0)
        runtime.requests_total += 1
        writer = ClientWriter(sock, version, keep_alive, method == "HEAD")
        runloop = self.server.runloop
        if max_size and length is not None and length > max_size:
            writer.keep_alive = False
            self._too_large(rq, writer, runloop)
            return False
        runloop.handle(rq, writer)
        if not writer.keep_alive or not writer.finished:
            return False
        return body.drain()

    @staticmethod
    def _too_large(rq: RequestContext, writer: ClientWriter, runloop: Runloop) -> None:
        """nginx 413 -> error_page -> Kong.handle_error, then header_filter and log."""
        rq.ctx["KONG_PROCESSING_START"] = int(rq.start_time * 1000)
        try:
            runloop.error_page(rq, 413)
            runloop.send_kong_response(rq, writer)
        except ClientGone:
            pass
        finally:
            runloop.log(rq)
