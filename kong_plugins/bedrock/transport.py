"""Kept-alive HTTP/1.1 connections to Bedrock on the standard library's http.client.

Why not botocore's URLLib3Session for every call: against the emulator it spent
0.6 ms of CPU per call besides SigV4 (urllib3 2's URL parsing and pool
bookkeeping, botocore's proxy lookup through os.environ, response wrappers) and
wrote the headers and the body in two sends, waking Bedrock's side twice;
http.client on a kept-alive connection spends 0.24 ms and writes one send.
The relay sits on every LLM call. Behind a proxy (HTTP_PROXY, HTTPS_PROXY and
NO_PROXY, read as the AWS SDKs read them) calls go through URLLib3Session,
which handles CONNECT tunnels and proxy credentials.

Failures are raised as the botocore exceptions URLLib3Session raises, so the
retry rules (botocore's standard mode) and the relay's error mapping see the
same types either way.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import time
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.exceptions import (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError,
                                 ReadTimeoutError, SSLError)
from botocore.httpsession import URLLib3Session, get_cert_path
from botocore.utils import get_environ_proxies

from kong_plugins.socket_send import send_all

Origin = tuple[str, str, int]   # scheme, host, port
DRAIN_LIMIT = 65536
"""Bytes read of a refused call's body to keep its connection (Bedrock's errors are a short JSON message)."""
DRAIN_WAIT = 0.5
"""Seconds waited for it in all: Bedrock sends an error's body, or a refused stream's end, at once."""


class UpstreamBody:
    """The unread body of a response; its connection goes back to the pool once read to the end."""

    def __init__(self, response: http.client.HTTPResponse, url: str, release: Callable[[], None],
                 discard: Callable[[], None], timeout: Callable[[float | None], None] = lambda seconds: None) -> None:
        self._response = response
        self._url = url
        self._release = release
        self._discard = discard
        self._timeout = timeout   # the socket's timeout for the next reads (None: the read timeout again)
        self._done = False

    def stream(self, amt: int = 16384, decode_content: bool = False) -> Iterator[bytes]:
        """What has arrived, up to `amt` bytes at a time (never waiting to fill `amt`: first tokens go on)."""
        while True:
            chunk = self._read(amt)
            if not chunk:
                return
            yield chunk

    def read(self) -> bytes:
        return self._read(None)

    def drain(self, limit: int, wait: float) -> bytes:
        """The rest of a small body (an error's, or a stream's after the exception frame that refused it), read
        to its end so that its connection is kept: a refused call opens no new TCP/TLS connection for the next.
        At most `limit` bytes are read, waiting at most `wait` seconds in all (a body that trickles in does not
        hold the retry up read after read); a longer or slower body's connection is closed instead. Returns what
        was read (at most `limit` bytes)."""
        if self._done:
            return b""
        got = bytearray()
        deadline = time.monotonic() + wait
        try:
            while len(got) <= limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._timeout(left)
                data = self._response.read1(limit + 1 - len(got))
                if not data:
                    self._timeout(None)
                    self._ended()
                    return bytes(got)
                got += data
        except (http.client.HTTPException, OSError):   # socket.timeout included: not worth waiting for
            pass
        self.close()
        return bytes(got[:limit])

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._response.close()
            self._discard()   # part of a body may still be on the wire: never reuse this connection

    def _read(self, amt: int | None) -> bytes:
        if self._done:
            return b""
        try:
            data = self._response.read() if amt is None else self._response.read1(amt)
        except socket.timeout as exc:
            self.close()
            raise ReadTimeoutError(endpoint_url=self._url, error=exc) from None
        except (http.client.HTTPException, OSError) as exc:   # a cut mid-body (IncompleteRead, reset)
            self.close()
            raise ConnectionClosedError(endpoint_url=self._url, error=exc) from None
        if amt is None or not data:
            self._ended()
        return data

    def _ended(self) -> None:
        """Read to its end: the connection goes back to the pool, unless the server is closing it."""
        self._done = True
        self._response.close()
        if self._response.will_close:
            self._discard()
        else:
            self._release()


class UpstreamResponse:
    """The parts of botocore's AWSResponse the relay reads."""

    def __init__(self, status_code: int, headers: HeadersDict, raw: UpstreamBody) -> None:
        self.status_code = status_code
        self.headers = headers
        self.raw = raw
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self.raw.read()
        return self._content


class _BedrockConnection:
    """What both connection classes add to http.client's.

    Once connected: the socket options (TCP_NODELAY, SO_KEEPALIVE for long streams)
    and the read timeout in place of the connect timeout. On each request: the head
    and a bytes body in one send (http.client sends them apart; botocore's
    AWSConnection joins them the same way), so Bedrock's side wakes once.
    """

    read_timeout: float | None = None
    socket_options: list = []
    _buffer: list[bytes]
    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()   # type: ignore[misc]
        for level, option, value in self.socket_options:
            self.sock.setsockopt(level, option, value)
        self.sock.settimeout(self.read_timeout)

    def _send_output(self, message_body: object = None, encode_chunked: bool = False) -> None:
        if not isinstance(message_body, bytes) or encode_chunked:
            return super()._send_output(message_body, encode_chunked)   # type: ignore[misc]
        self._buffer.extend((b"", b""))
        head = b"\r\n".join(self._buffer)
        del self._buffer[:]
        if self.sock is None:
            self.connect()
        send_all(self.sock, head + message_body)


class _Plain(_BedrockConnection, http.client.HTTPConnection):
    pass


class _Tls(_BedrockConnection, http.client.HTTPSConnection):
    pass


class Transport:
    """Sends prepared (signed) requests; one per process, shared by every greenlet.

    The plugin server runs on gevent (one OS thread): list operations on the
    idle pool are atomic between greenlets, and http.client's sockets are
    gevent's, so a call waiting on Bedrock lets others run.
    """

    def __init__(self, *, connect_timeout: float, read_timeout: float, max_idle: int,
                 ca_bundle: str | None = None, socket_options: list | None = None) -> None:
        self.ca_bundle = ca_bundle
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self.socket_options = socket_options or []
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._proxied: dict[Origin, URLLib3Session | None] = {}
        self._tls: ssl.SSLContext | None = None

    def send(self, request: AWSPreparedRequest) -> UpstreamResponse:
        url = request.url
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        proxied = self._proxied_session(origin, url)
        if proxied is not None:
            return proxied.send(request)
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn = self._checkout(origin)
        try:
            conn.request(request.method, target, body=request.body, headers=dict(request.headers))
            response = conn.getresponse()
        except Exception as exc:
            connected = conn.sock is not None
            conn.close()
            raise _botocore_error(exc, url, connected=connected) from None
        body = UpstreamBody(response, url, release=lambda: self._checkin(origin, conn), discard=conn.close,
                            timeout=lambda seconds: self._timeout(conn, seconds))
        upstream = UpstreamResponse(response.status, HeadersDict(response.getheaders()), body)
        if not request.stream_output:
            upstream.content   # read now, as botocore does: a read timeout surfaces from send()
        return upstream

    def _checkout(self, origin: Origin) -> http.client.HTTPConnection:
        """An idle connection Bedrock has not closed (checked as urllib3 does), else a new one."""
        idle = self._idle.get(origin) or []
        while idle:
            conn = idle.pop()
            if not _closed_by_peer(conn):
                return conn
            conn.close()
        scheme, host, port = origin
        if scheme == "https":
            conn: http.client.HTTPConnection = _Tls(host, port, timeout=self.connect_timeout,
                                                    context=self._tls_context())
        else:
            conn = _Plain(host, port, timeout=self.connect_timeout)
        conn.read_timeout = self.read_timeout   # type: ignore[attr-defined]
        conn.socket_options = self.socket_options   # type: ignore[attr-defined]
        return conn

    def _timeout(self, conn: http.client.HTTPConnection, seconds: float | None) -> None:
        """The connection's socket timeout: `seconds`, or (None) the read timeout again."""
        if conn.sock is not None:
            conn.sock.settimeout(self.read_timeout if seconds is None else seconds)

    def _checkin(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    def _proxied_session(self, origin: Origin, url: str) -> URLLib3Session | None:
        """botocore's session with the environment's proxies for this origin, None when it has none.

        The environment is read once per origin, as a botocore client reads it once when created.
        """
        if origin not in self._proxied:
            proxies = get_environ_proxies(url)
            self._proxied[origin] = URLLib3Session(
                proxies=proxies, verify=self.ca_bundle or True, timeout=(self.connect_timeout, self.read_timeout),
                max_pool_connections=self.max_idle, socket_options=self.socket_options) if proxies else None
        return self._proxied[origin]

    def _tls_context(self) -> ssl.SSLContext:
        """Certificates and host names verified against AWS_CA_BUNDLE, else botocore's CA bundle."""
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.ca_bundle or get_cert_path(True))
        return self._tls


def drain(raw: UpstreamBody | Any, limit: int = DRAIN_LIMIT, wait: float = DRAIN_WAIT) -> bytes:
    """What is left of a small body, read so that its connection is kept (UpstreamBody.drain). botocore's urllib3
    response (behind a proxy) is read the same way, bounded by `limit` only (urllib3 keeps the connection of a
    body read to its end)."""
    if isinstance(raw, UpstreamBody):
        return raw.drain(limit, wait)
    data = raw.read(limit + 1)
    raw.close()
    return data[:limit]


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle kept-alive connection is readable only when the server closed it (or misbehaved)."""
    if conn.sock is None:
        return True
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _botocore_error(exc: Exception, url: str, *, connected: bool) -> Exception:
    """The botocore exception URLLib3Session raises for the same failure."""
    if isinstance(exc, ssl.SSLError):   # includes certificate verification failures
        return SSLError(endpoint_url=url, error=exc)
    if isinstance(exc, socket.timeout):
        if connected:
            return ReadTimeoutError(endpoint_url=url, error=exc)
        return ConnectTimeoutError(endpoint_url=url, error=exc)
    if isinstance(exc, (http.client.HTTPException, ConnectionError)) and connected:
        return ConnectionClosedError(endpoint_url=url, error=exc)
    if isinstance(exc, OSError):   # refused, unreachable, name not resolved
        return EndpointConnectionError(endpoint_url=url, error=exc)
    return ConnectionClosedError(endpoint_url=url, error=exc)
