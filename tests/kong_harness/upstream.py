"""Upstream HTTP/1.1 client (the ``proxy_pass`` half of nginx_kong.lua).

Why: Kong proxies with ``proxy_http_version 1.1`` over a keepalive pool
(upstream_keepalive_pool_size 512, max_requests 10000, idle 60 s) with the
service's connect/write/read timeouts (ms).  Responses are read incrementally
so the runloop can flush each chunk to the client when
``response_buffering = false``.  Errors map to nginx's: connect/IO failure ->
502, timeout -> 504.
"""
from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator


class UpstreamError(Exception):
    """nginx upstream failure; ``status`` is what the error page uses."""

    def __init__(self, status: int, message: str, sent_request: bool) -> None:
        super().__init__(message)
        self.status = status
        self.sent_request = sent_request


@dataclass
class UpstreamResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    conn: "_Conn"
    chunked: bool
    length: int | None
    head: bool
    started: float = field(default_factory=time.monotonic)
    done: bool = False

    def iter_body(self) -> Iterator[bytes]:
        """Yield body pieces as they arrive (chunk by chunk for chunked bodies)."""
        f = self.conn.rfile
        try:
            if self.head or self.status in (204, 304) or 100 <= self.status < 200:
                self.done = True
                return
            if self.chunked:
                while True:
                    line = f.readline(65537)
                    if not line:
                        raise UpstreamError(502, "upstream prematurely closed connection", True)
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while True:  # trailers
                            t = f.readline(65537)
                            if t in (b"\r\n", b"\n", b""):
                                break
                        self.done = True
                        return
                    data = f.read(size)
                    if len(data) < size:
                        raise UpstreamError(502, "upstream prematurely closed connection", True)
                    f.readline(3)
                    yield data
            elif self.length is not None:
                left = self.length
                while left > 0:
                    data = f.read1(min(left, 65536))
                    if not data:
                        raise UpstreamError(502, "upstream prematurely closed connection", True)
                    left -= len(data)
                    yield data
                self.done = True
            else:
                while True:
                    data = f.read1(65536)
                    if not data:
                        break
                    yield data
                self.conn.reusable = False
                self.done = True
        except socket.timeout:
            raise UpstreamError(504, "upstream timed out (110: Connection timed out) while reading upstream",
                                True) from None
        except OSError as e:
            raise UpstreamError(502, "recv() failed: %s" % e, True) from None

    def read_all(self) -> bytes:
        return b"".join(self.iter_body())


@dataclass
class StreamBody:
    """A request body forwarded while it is read (proxy_request_buffering off)."""

    chunks: Iterable[bytes]
    chunked: bool


class _Conn:
    def __init__(self, sock: socket.socket, key: tuple) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=65536)
        self.key = key
        self.requests = 0
        self.idle_since = time.monotonic()
        self.reusable = True

    def close(self) -> None:
        try:
            self.rfile.close()
        finally:
            self.sock.close()


def _peer_closed(sock: socket.socket) -> bool:
    try:
        sock.setblocking(False)
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
    finally:
        try:
            sock.setblocking(True)
        except OSError:
            pass


class UpstreamPool:
    """Keepalive connections per (scheme, host, port)."""

    def __init__(self, pool_size: int = 512, max_requests: int = 10000, idle_timeout: float = 60.0) -> None:
        self._idle: dict[tuple, list[_Conn]] = {}
        self._lock = threading.Lock()
        self.pool_size = pool_size
        self.max_requests = max_requests
        self.idle_timeout = idle_timeout

    def _take(self, key: tuple) -> _Conn | None:
        with self._lock:
            conns = self._idle.get(key) or []
            while conns:
                c = conns.pop()
                if time.monotonic() - c.idle_since > self.idle_timeout or _peer_closed(c.sock):
                    c.close()  # ngx_http_upstream_keepalive_close_handler drops closed idle peers
                    continue
                return c
        return None

    def release(self, conn: _Conn, response: UpstreamResponse) -> None:
        if not (response.done and conn.reusable and conn.requests < self.max_requests):
            conn.close()
            return
        for name, value in response.headers:
            if name.lower() == "connection" and "close" in value.lower():
                conn.close()
                return
        conn.idle_since = time.monotonic()
        with self._lock:
            conns = self._idle.setdefault(conn.key, [])
            if len(conns) < self.pool_size:
                conns.append(conn)
                return
        conn.close()

    def close_all(self) -> None:
        with self._lock:
            for conns in self._idle.values():
                for c in conns:
                    c.close()
            self._idle.clear()

    def _connect(self, scheme: str, host: str, port: int, connect_timeout: float, sni: str | None) -> _Conn:
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
        except socket.timeout:
            raise UpstreamError(504, "upstream timed out (110: Connection timed out) while connecting to upstream",
                                False) from None
        except OSError as e:
            raise UpstreamError(502, "connect() failed (%s) while connecting to upstream"
                                % (e.strerror or e), False) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # proxy_ssl_verify off (tls_verify unset)
            sock = ctx.wrap_socket(sock, server_hostname=sni or host)
        return _Conn(sock, (scheme, host, port))

    def request(self, scheme: str, host: str, port: int, head: bytes, body: "bytes | StreamBody | None",
                timeouts: tuple[float, float, float], sni: str | None, is_head: bool) -> UpstreamResponse:
        """Send one request; returns once the status line and headers arrived."""
        connect_t, write_t, read_t = timeouts
        key = (scheme, host, port)
        conn = self._take(key) if not isinstance(body, StreamBody) else None
        reused = conn is not None
        if conn is None:
            conn = self._connect(scheme, host, port, connect_t, sni)
        conn.requests += 1
        try:
            conn.sock.settimeout(write_t)
            conn.sock.sendall(head)
            if isinstance(body, (bytes, bytearray)):
                if body:
                    conn.sock.sendall(body)
            elif body is not None:
                for piece in body.chunks:
                    if body.chunked:
                        conn.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if piece else b"")
                    elif piece:
                        conn.sock.sendall(piece)
                if body.chunked:
                    conn.sock.sendall(b"0\r\n\r\n")
            conn.sock.settimeout(read_t)
            status_line = conn.rfile.readline(65537)
            if not status_line and reused:
                conn.close()  # stale keepalive connection: retry once on a fresh one
                return self.request(scheme, host, port, head, body, timeouts, sni, is_head)
            return self._read_head(conn, status_line, is_head)
        except socket.timeout:
            conn.close()
            raise UpstreamError(504, "upstream timed out (110: Connection timed out) while reading response "
                                "header from upstream", True) from None
        except UpstreamError:
            conn.close()
            raise
        except OSError as e:
            conn.close()
            raise UpstreamError(502, "upstream prematurely closed connection (%s)" % e, True) from None

    def _read_head(self, conn: _Conn, status_line: bytes, is_head: bool) -> UpstreamResponse:
        parts = status_line.decode("utf-8", "surrogateescape").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise UpstreamError(502, "upstream sent no valid HTTP/1.0 header while reading response header "
                                "from upstream", True)
        status = int(parts[1])
        headers: list[tuple[str, str]] = []
        while True:
            line = conn.rfile.readline(65537)
            if not line:
                raise UpstreamError(502, "upstream prematurely closed connection while reading response header",
                                    True)
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("utf-8", "surrogateescape").partition(":")
            headers.append((name.strip(), value.strip()))
        if 100 <= status < 200 and status != 101:
            return self._read_head(conn, conn.rfile.readline(65537), is_head)
        chunked = any(n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in headers)
        length = None
        if not chunked:
            for n, v in headers:
                if n.lower() == "content-length" and v.strip().isdigit():
                    length = int(v)
        return UpstreamResponse(status=status, reason=parts[2] if len(parts) > 2 else "", headers=headers,
                                conn=conn, chunked=chunked, length=length, head=is_head)
