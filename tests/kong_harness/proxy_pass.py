"""Proxying a request to its service (nginx_kong.lua ``location /`` + balancer).

Why: the upstream must receive exactly the headers nginx_kong.lua's
``proxy_set_header`` lines produce (TE, Host, Upgrade, Connection,
X-Forwarded-*, X-Real-IP, X-Kong-Request-Id per headers_upstream) plus the
client's remaining headers as modified by plugins; the body is buffered
(``request_buffering``) or streamed; the response is streamed chunk by chunk
when ``response_buffering = false`` (``@unbuffered*`` locations) and fully
buffered otherwise.  Failed tries are retried ``service.retries`` times like
``proxy_next_upstream error timeout`` (non-idempotent requests only before
they were sent).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import constants as C
from .client_io import ClientGone, ClientWriter
from .headers import HeaderList
from .request_ctx import RequestContext
from .upstream import StreamBody, UpstreamError, UpstreamPool, UpstreamResponse

if TYPE_CHECKING:  # pragma: no cover
    from .runloop import Runloop
    from .runtime import Runtime

# nginx ngx_http_proxy_headers defaults + Kong's proxy_set_header names
_NEVER_PASSED = {"host", "connection", "content-length", "transfer-encoding", "te", "keep-alive", "expect",
                 "upgrade", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
                 "x-forwarded-path", "x-forwarded-prefix", "x-real-ip"}
_HOP_BY_HOP_RESPONSE = {"connection", "keep-alive", "transfer-encoding", "proxy-connection",
                        "x-accel-expires", "x-accel-redirect", "x-accel-limit-rate", "x-accel-buffering",
                        "x-accel-charset", "x-pad"}
_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}


def _now_ms() -> int:
    import time
    return int(time.time() * 1000)


class Proxier:
    """Turns an accessed request into upstream I/O."""

    def __init__(self, runtime: "Runtime", pool: UpstreamPool) -> None:
        self.runtime = runtime
        self.pool = pool

    # -- request side --------------------------------------------------------
    def _body(self, rq: RequestContext) -> tuple[bytes | StreamBody | None, str | None]:
        """(body, Content-Length) following proxy_request_buffering."""
        src = rq.body_source
        if rq.body_read:
            return rq.body or b"", str(len(rq.body or b""))
        if src is None or (src.length in (None, 0) and not src.chunked):
            return (b"", "0") if src is not None and src.length == 0 else (None, None)
        route = rq.ctx.get("route") or {}
        if route.get("request_buffering", True):
            rq.read_body()
            return rq.body or b"", str(len(rq.body or b""))
        return StreamBody(src.iter_chunks(), chunked=src.chunked), (None if src.chunked else str(src.length))

    def _head(self, rq: RequestContext, body: object, content_length: str | None) -> bytes:
        var = rq.var
        defined = [
            ("TE", var.get("upstream_te")), ("Host", var.get("upstream_host")),
            ("Upgrade", var.get("upstream_upgrade")), ("Connection", var.get("upstream_connection")),
            ("X-Forwarded-For", var.get("upstream_x_forwarded_for")),
            ("X-Forwarded-Proto", var.get("upstream_x_forwarded_proto")),
            ("X-Forwarded-Host", var.get("upstream_x_forwarded_host")),
            ("X-Forwarded-Port", var.get("upstream_x_forwarded_port")),
            ("X-Forwarded-Path", var.get("upstream_x_forwarded_path")),
            ("X-Forwarded-Prefix", var.get("upstream_x_forwarded_prefix")),
            ("X-Real-IP", rq.remote_addr),
        ]
        skip = set(_NEVER_PASSED)
        if C.H_REQUEST_ID in self.runtime.conf.enabled_headers_upstream:
            defined.append(("X-Kong-Request-Id", rq.request_id))
            skip.add("x-kong-request-id")
        lines = ["%s %s HTTP/1.1" % (rq.method, var.get("upstream_uri") or "/")]
        lines += ["%s: %s" % (n, v) for n, v in defined if v not in (None, "")]
        if content_length is not None:
            lines.append("Content-Length: %s" % content_length)
        elif isinstance(body, StreamBody) and body.chunked:
            lines.append("Transfer-Encoding: chunked")
        for name, value in rq.req_headers:
            if name.lower() not in skip:
                lines.append("%s: %s" % (name, value))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")

    def _send(self, rq: RequestContext, runloop: "Runloop") -> UpstreamResponse | None:
        """Balancer tries; returns the response or None after producing the error page."""
        ctx = rq.ctx
        bd = ctx["balancer_data"]
        body, clen = self._body(rq)
        head = self._head(rq, body, clen)
        scheme = rq.var.get("upstream_scheme") or "http"
        timeouts = (bd["connect_timeout"] / 1000.0, bd["send_timeout"] / 1000.0, bd["read_timeout"] / 1000.0)
        tries = int(bd.get("retries") or 0) + 1
        for attempt in range(tries):
            bd["try_count"] += 1
            start = _now_ms()
            ctx.setdefault("KONG_BALANCER_START", start)
            try_rec = {"balancer_start": start, "balancer_start_ns": start * 1000000, "ip": bd["host"],
                       "port": bd["port"], "balancer_latency": 0}
            bd["tries"].append(try_rec)
            ctx["KONG_BALANCER_ENDED_AT"] = _now_ms()
            ctx["KONG_PROXY_LATENCY"] = ctx["KONG_BALANCER_ENDED_AT"] - ctx["KONG_PROCESSING_START"]
            try:
                resp = self.pool.request(scheme, bd["host"], bd["port"], head, body, timeouts,
                                         rq.var.get("upstream_host", "").split(":")[0], rq.method == "HEAD")
            except UpstreamError as e:
                self.runtime.errlog.log("error", '%s, client: %s, server: kong, request: "%s %s HTTP/%s", '
                                        'upstream: "%s://%s:%s%s", host: "%s", request_id: "%s"'
                                        % (e, rq.remote_addr, rq.method, rq.request_uri, rq.http_version, scheme,
                                           bd["host"], bd["port"], rq.var.get("upstream_uri"), rq.host_header,
                                           rq.request_id), worker=rq.worker.id, raw=True)
                try_rec["state"], try_rec["code"] = "failed", e.status
                retryable = not isinstance(body, StreamBody) and (not e.sent_request or rq.method in _IDEMPOTENT)
                if attempt + 1 < tries and retryable:
                    continue
                runloop.error_page(rq, e.status)
                return None
            ctx["KONG_WAITING_TIME"] = _now_ms() - ctx["KONG_BALANCER_ENDED_AT"]
            ctx["KONG_RESPONSE_START"] = _now_ms()
            rq.upstream_status = str(resp.status)
            try_rec["code"] = resp.status
            return resp
        return None

    # -- response side ----------------------------------------------------------
    def _merge_headers(self, rq: RequestContext, resp: UpstreamResponse) -> None:
        """Upstream headers minus hop-by-hop ones (handler.lua header_filter.before), then plugin headers."""
        upstream = HeaderList(resp.headers)
        rq.var["upstream_headers"] = upstream
        conn_tokens = {t.strip().lower() for n, v in resp.headers if n.lower() == "connection" for t in v.split(",")}
        drop = _HOP_BY_HOP_RESPONSE | (conn_tokens - {"close", "upgrade", "keep-alive"})
        if not rq.var.get("upstream_te"):
            drop.add("trailer")
        merged = HeaderList([(n, v) for n, v in resp.headers if n.lower() not in drop])
        for name in {n.lower(): n for n, _ in rq.resp_headers}.values():
            merged.set(name, rq.resp_headers.get_all(name))
        rq.resp_headers = merged
        rq.resp_status = resp.status

    @staticmethod
    def _mode(rq: RequestContext, writer: ClientWriter, resp: UpstreamResponse) -> str:
        """How the body is framed, after header_filter: a Content-Length a filter cleared (body_filter about to
        change the body; lua-nginx-module's `ngx.header.content_length = nil`) makes nginx send it chunked."""
        has_length = rq.resp_headers.has("Content-Length")
        if writer.is_head or resp.status in (204, 304):
            return "length" if has_length else "none"
        return "length" if has_length else "chunked"

    def proxy(self, rq: RequestContext, writer: ClientWriter, runloop: "Runloop") -> None:
        """Normal (non-``response``-phase) proxying."""
        resp = self._send(rq, runloop)
        if resp is None:
            runloop.send_kong_response(rq, writer)
            return
        self._merge_headers(rq, resp)
        route = rq.ctx.get("route") or {}
        streaming = route.get("response_buffering", True) is False
        try:
            if streaming:
                runloop.header_filter(rq)
                writer.send_head(resp.status, rq.resp_headers, self._mode(rq, writer, resp))
                rq.headers_sent = True
                runloop.send_filtered(rq, writer, resp.iter_body())
            else:
                try:
                    body = resp.read_all()
                except UpstreamError as e:
                    resp.conn.close()
                    runloop.error_page(rq, e.status)
                    runloop.send_kong_response(rq, writer)
                    return
                runloop.header_filter(rq)
                writer.send_head(resp.status, rq.resp_headers, self._mode(rq, writer, resp))
                rq.headers_sent = True
                runloop.send_filtered(rq, writer, [body] if body else [])
            writer.finish()
        except ClientGone:
            resp.conn.close()  # client went away: drop the upstream connection too
            return
        except UpstreamError:
            resp.conn.close()
            writer.keep_alive = False  # headers already sent: nginx closes the client connection
            raise ClientGone("upstream failed mid-response") from None
        self.pool.release(resp.conn, resp)

    def fetch_buffered(self, rq: RequestContext, runloop: "Runloop") -> tuple[int, HeaderList, bytes] | None:
        """``ngx.location.capture("/kong_buffered_http")`` used by Kong.response()."""
        resp = self._send(rq, runloop)
        if resp is None:
            return None
        try:
            body = resp.read_all()
        except UpstreamError as e:
            resp.conn.close()
            runloop.error_page(rq, e.status)
            return None
        self.pool.release(resp.conn, resp)
        rq.var["upstream_headers"] = HeaderList(resp.headers)
        return resp.status, HeaderList(resp.headers), body
