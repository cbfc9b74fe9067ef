"""Per-request state: ``ngx.ctx``, ``ngx.var``, ``ngx.req`` and ``ngx.header``.

Why: every PDK function Kong exposes over RPC reads or writes this state, and
the log phase of external plugins runs in a timer with a *snapshot*
(plugin_servers/init.lua build_phases: serialize_data, ngx_ctx clone,
ctx_shared, request/response headers, status, start time).  Inside that timer
``ngx.var``/``ngx.req`` are unavailable (OpenResty: "API disabled in the context
of ngx.timer"), which ``need_request`` reproduces.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import unquote_plus

from .headers import HeaderList
from .luatypes import LuaError

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Runtime, Worker


class BodyTooLarge(Exception):
    """nginx ``client_max_body_size`` exceeded while reading the body (-> 413)."""


class BodySource:
    """The client request body as the HTTP server delivers it."""

    def __init__(self, read_all: Callable[[], bytes], iter_chunks: Callable[[], Iterator[bytes]],
                 length: int | None, chunked: bool) -> None:
        self.read_all = read_all
        self.iter_chunks = iter_chunks
        self.length = length
        self.chunked = chunked


@dataclass
class LogSnapshot:
    """The table ``build_phases`` passes to the log timer.

    Kong builds ``serialize_data`` (kong.log.serialize()) eagerly in the log
    phase; here it is built the first time the plugin asks, from inputs frozen
    in the log phase (`build_serialize_data`), so the table is the same and a
    plugin that never calls kong.log.serialize costs the harness nothing for it.
    """

    plugin_name: str
    build_serialize_data: Callable[[], Any]
    ngx_ctx: dict
    ctx_shared: dict
    request_headers: dict
    response_headers: dict
    response_status: int
    req_start_time: float
    _serialize_data: Any = field(default=None, repr=False)

    @property
    def serialize_data(self) -> Any:
        if self._serialize_data is None:
            self._serialize_data = self.build_serialize_data()
        return self._serialize_data


@dataclass
class RequestContext:
    """One proxied request (or one log timer, when ``in_timer`` is set)."""

    runtime: "Runtime"
    worker: "Worker"
    request_id: str
    method: str
    request_uri: str
    http_version: float
    scheme: str
    host_header: str | None
    server_addr: str
    server_port: int
    remote_addr: str
    remote_port: int
    req_headers: HeaderList
    body_source: BodySource | None
    start_time: float = field(default_factory=time.time)
    connection: int = 0
    connection_requests: int = 1
    ctx: dict = field(default_factory=dict)
    shared: dict = field(default_factory=dict)
    plugin_ctx: dict = field(default_factory=dict)
    var: dict = field(default_factory=dict)
    body: bytes | None = None
    body_read: bool = False
    body_in_file: bool = False
    body_replaced: bool = False
    resp_status: int = 0
    resp_headers: HeaderList = field(default_factory=HeaderList)
    headers_sent: bool = False
    resp_body: bytes | None = None
    in_timer: bool = False
    snapshot: LogSnapshot | None = None
    current_plugin: str | None = None
    bytes_sent: int = 0
    upstream_status: str | None = None
    # body_filter (init.lua Kong.body_filter): ngx.arg's [chunk, eof] while the phase runs, whether a filter
    # already ended the body (later data is discarded), kong.response.get_raw_body's ngx.ctx.KONG_BODY_BUFFER
    body_filter_arg: list | None = None
    body_filter_ended: bool = False
    body_buffer: bytes | None = None

    # -- ngx.req ---------------------------------------------------------
    def need_request(self) -> None:
        """Raise like OpenResty when request APIs are used from a timer."""
        if self.in_timer:
            raise LuaError("API disabled in the context of ngx.timer")

    @property
    def args(self) -> str:
        """``$args`` (the raw query string, without ``?``)."""
        p = self.request_uri.find("?")
        return self.request_uri[p + 1:] if p >= 0 else ""

    @property
    def is_args(self) -> str:
        return "?" if "?" in self.request_uri else ""

    def set_args(self, query: str) -> None:
        """``ngx.req.set_uri_args``: changes ``$args`` (the upstream query string)."""
        self.var["args_override"] = query

    def current_args(self) -> str:
        return self.var.get("args_override", self.args)

    @property
    def raw_path(self) -> str:
        p = self.request_uri.find("?", 1)
        return self.request_uri[:p] if p >= 0 else self.request_uri

    def read_body(self) -> None:
        """``ngx.req.read_body()``: bodies above client_body_buffer_size go to a temp file."""
        if self.body_read:
            return
        self.body_read = True
        data = self.body_source.read_all() if self.body_source is not None else b""
        self.body = data
        if len(data) > self.runtime.conf.client_body_buffer_size:
            self.body_in_file = True

    def get_body_data(self) -> bytes | None:
        if not self.body_read or self.body_in_file:
            return None
        return self.body

    def set_body_data(self, data: bytes) -> None:
        self.read_body()
        self.body = data
        self.body_in_file = False
        self.body_replaced = True
        self.req_headers.set("Content-Length", str(len(data)))

    def uri_args(self) -> dict:
        """``ngx.req.get_uri_args()``: ``true`` for flags, tables for repeats."""
        out: dict = {}
        query = self.current_args()
        if not query:
            return out
        for part in query.split("&"):
            if not part:
                continue
            if "=" in part:
                k, v = part.split("=", 1)
                val: Any = unquote_plus(v)
            else:
                k, val = part, True
            k = unquote_plus(k)
            if k == "":
                continue
            if k in out:
                cur = out[k]
                out[k] = (cur if isinstance(cur, list) else [cur]) + [val]
            else:
                out[k] = val
        return out

    # -- ngx.var ---------------------------------------------------------
    def get_var(self, name: str) -> Any:
        """``ngx.var[name]`` for the variables the harness knows (unknown -> nil)."""
        self.need_request()
        if name.startswith("http_"):
            return self.req_headers.var(name[5:])
        if name.startswith("upstream_http_"):
            return self.var.get(name)
        getter = _NGX_VARS.get(name)
        if getter is not None:
            return getter(self)
        return self.var.get(name)

    def set_var(self, name: str, value: Any) -> None:
        self.need_request()
        self.var[name] = value

    # -- phases ----------------------------------------------------------
    @property
    def phase(self) -> str | None:
        return self.ctx.get("KONG_PHASE")

    def set_phase(self, phase: str) -> None:
        self.ctx["KONG_PHASE"] = phase


def _host(rq: RequestContext) -> str:
    return (rq.host_header or "").split(":")[0].lower() or "kong"


_NGX_VARS: dict[str, Any] = {
    "kong_request_id": lambda rq: rq.request_id,
    "request_uri": lambda rq: rq.request_uri,
    "uri": lambda rq: rq.raw_path,
    "args": lambda rq: rq.current_args() or None,
    "query_string": lambda rq: rq.current_args() or None,
    "is_args": lambda rq: "?" if rq.current_args() else "",
    "request_method": lambda rq: rq.method,
    "request": lambda rq: "%s %s HTTP/%s" % (rq.method, rq.request_uri, rq.http_version),
    "scheme": lambda rq: rq.scheme,
    "host": _host,
    "hostname": lambda rq: rq.runtime.hostname,
    "server_name": lambda rq: "kong",
    "server_addr": lambda rq: rq.server_addr,
    "server_port": lambda rq: str(rq.server_port),
    "remote_addr": lambda rq: rq.remote_addr,
    "remote_port": lambda rq: str(rq.remote_port),
    "realip_remote_addr": lambda rq: rq.remote_addr,
    "realip_remote_port": lambda rq: str(rq.remote_port),
    "binary_remote_addr": lambda rq: None,
    "content_type": lambda rq: rq.req_headers.var("content_type"),
    "content_length": lambda rq: rq.req_headers.var("content_length"),
    "connection": lambda rq: str(rq.connection),
    "connection_requests": lambda rq: str(rq.connection_requests),
    "request_length": lambda rq: str(rq.var.get("request_length", 0)),
    "request_time": lambda rq: "%.3f" % (time.time() - rq.start_time),
    "status": lambda rq: str(rq.resp_status) if rq.resp_status else "000",
    "bytes_sent": lambda rq: str(rq.bytes_sent),
    "body_bytes_sent": lambda rq: str(rq.bytes_sent),
    "upstream_status": lambda rq: rq.upstream_status,
    "https": lambda rq: "",
    "ssl_protocol": lambda rq: None,
}
"""The nginx variables computed from the request, each on demand."""
