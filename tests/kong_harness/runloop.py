"""The request lifecycle: rewrite -> access -> (response | proxy) -> header_filter -> log.

Why: mirrors kong/init.lua (Kong.rewrite/access/response/header_filter/log,
execute_*_plugins_iterator, flush_delayed_response, handle_error) and
kong/runloop/handler.lua (access.before/after, header_filter.before/after)
so that plugin order, short-circuits, error pages, latency headers and the
log snapshot behave like Kong 3.6.1.  Upstream I/O lives in proxy_pass.py.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import constants as C
from . import pdk_response
from .client_io import ClientGone, ClientWriter
from .luatypes import CoroutineYield, LuaError, NgxExit
from .plugins_iterator import PluginHandler
from .request_ctx import BodyTooLarge, RequestContext
from .uri import escape

if TYPE_CHECKING:  # pragma: no cover
    from .proxy_pass import Proxier
    from .runtime import Runtime


def now_ms() -> int:
    return int(time.time() * 1000)


class Runloop:
    """Kong's phase handlers for the proxy server block."""

    def __init__(self, runtime: "Runtime", proxier: "Proxier") -> None:
        self.runtime = runtime
        self.proxier = proxier

    # -- plugin execution helpers -----------------------------------------
    @staticmethod
    def _setup_plugin(rq: RequestContext, handler: PluginHandler, cfg: dict) -> None:
        rq.ctx["plugin_id"] = cfg.get("__plugin_id")  # init.lua setup_plugin_context
        rq.current_plugin = handler.name

    @staticmethod
    def _reset_plugin(rq: RequestContext) -> None:
        rq.current_plugin = None

    def _run(self, rq: RequestContext, handler: PluginHandler, phase: str, cfg: dict) -> None:
        if handler.run is not None:
            handler.run(handler, phase, rq, cfg)

    # -- entry point ---------------------------------------------------------
    def handle(self, rq: RequestContext, writer: ClientWriter) -> None:
        ctx = rq.ctx
        ctx["KONG_PROCESSING_START"] = int(rq.start_time * 1000)
        try:
            try:
                self.rewrite(rq)
                self.access(rq)
                if ctx.get("buffered_proxying"):
                    self.response(rq)
                else:
                    self.proxier.proxy(rq, writer, self)
                    return
            except NgxExit:
                pass
            except LuaError as e:
                self.runtime.log_for(rq, "error", "lua entry thread aborted: runtime error: %s" % e)
                self.error_page(rq, 500)
            except BodyTooLarge:
                self.runtime.log_for(rq, "error", "client intended to send too large body")
                writer.keep_alive = False
                if writer.head_sent:
                    return
                self.error_page(rq, 413)
            except ClientGone:
                raise
            except Exception as e:  # a harness bug must not look like a hung gateway
                self.runtime.log_for(rq, "error", "harness internal error: %r" % e)
                writer.keep_alive = False
                if writer.head_sent:
                    return
                self.error_page(rq, 500)
            self.send_kong_response(rq, writer)
        except ClientGone:
            pass
        finally:
            rq.bytes_sent = writer.bytes_sent
            self.log(rq)

    # -- Kong.rewrite --------------------------------------------------------
    def rewrite(self, rq: RequestContext) -> None:
        rq.set_phase("rewrite")
        rq.ctx["KONG_REWRITE_START"] = now_ms()
        for handler, cfg in self.runtime.iterator.global_phase("rewrite"):
            self._setup_plugin(rq, handler, cfg)
            try:
                self._run(rq, handler, "rewrite", cfg)
            finally:
                self._reset_plugin(rq)
        rq.ctx["KONG_REWRITE_ENDED_AT"] = now_ms()

    # -- Kong.access -----------------------------------------------------------
    def access(self, rq: RequestContext) -> None:
        ctx = rq.ctx
        ctx["KONG_ACCESS_START"] = now_ms()
        rq.set_phase("access")
        self.access_before(rq)
        ctx["delay_response"] = True
        for handler, cfg in self.runtime.iterator.collecting(ctx):
            if ctx.get("delayed_response"):
                continue
            self._setup_plugin(rq, handler, cfg)
            try:
                self._run(rq, handler, "access", cfg)
            except CoroutineYield:
                pass  # kong.response.exit/error recorded a delayed response
            except NgxExit:
                raise
            except LuaError as e:
                self.runtime.log_for(rq, "error", str(e), src="init.lua:405")
                ctx["delayed_response"] = {"status_code": 500,
                                           "content": {"message": "An unexpected error occurred"}}
                ctx["KONG_UNEXPECTED"] = True
            finally:
                self._reset_plugin(rq)
        if ctx.get("delayed_response"):
            ctx["KONG_ACCESS_ENDED_AT"] = now_ms()
            ctx["KONG_RESPONSE_LATENCY"] = ctx["KONG_ACCESS_ENDED_AT"] - ctx["KONG_PROCESSING_START"]
            self.flush_delayed_response(rq)
        ctx["delay_response"] = None
        if not ctx.get("service"):
            ctx["KONG_ACCESS_ENDED_AT"] = now_ms()
            ctx["KONG_RESPONSE_LATENCY"] = ctx["KONG_ACCESS_ENDED_AT"] - ctx["KONG_PROCESSING_START"]
            ctx["buffered_proxying"] = None
            pdk_response.error(rq, 503, "no Service found with those values")
        self.access_after(rq)
        ctx["KONG_ACCESS_ENDED_AT"] = now_ms()
        ctx["KONG_PROXIED"] = True

    def flush_delayed_response(self, rq: RequestContext) -> None:
        """init.lua flush_delayed_response."""
        ctx = rq.ctx
        ctx["delay_response"] = None
        ctx["buffered_proxying"] = None
        dr = ctx["delayed_response"]
        if ctx.get("delayed_response_callback") == "flush":
            pdk_response.send(rq, dr["status_code"], dr.get("content"), dr.get("headers"))
        content = dr.get("content")
        message = content.get("message") if isinstance(content, dict) else content
        pdk_response.error(rq, dr["status_code"], message, dr.get("headers"))

    def access_before(self, rq: RequestContext) -> None:
        """handler.lua access.before: route, forwarded headers, balancer data."""
        ctx = rq.ctx
        ctx["scheme"] = rq.scheme
        ctx["request_uri"] = rq.request_uri
        match = self.runtime.router.exec(rq.method, rq.request_uri, rq.host_header,
                                         rq.req_headers.lowered(), rq.server_port)
        if match is None:
            pdk_response.error(rq, 404, "no Route matched with those values")
        ctx["workspace"] = C.DEFAULT_WORKSPACE_ID
        ctx["route"] = match.route
        ctx["service"] = match.service
        ctx["router_matches"] = {"uri_captures": match.uri_captures}
        host = rq.get_var("host")
        qpos = rq.request_uri.find("?", 1)
        forwarded_path = rq.request_uri[:qpos] if qpos >= 0 else rq.request_uri
        forwarded_prefix = match.prefix if match.prefix and match.prefix != "/" else None
        protocols = match.route.get("protocols") or []
        if "https" in protocols and "http" not in protocols and rq.scheme != "https":
            code = match.route.get("https_redirect_status_code") or 426
            if code == 426:
                pdk_response.error(rq, 426, "Please use HTTPS protocol",
                                   {"Connection": "Upgrade", "Upgrade": "TLS/1.2, HTTP/1.1"})
            rq.resp_headers.set("Location", "https://%s%s" % (host, rq.request_uri))
            pdk_response.exit_(rq, code)
        service = match.service or {}
        ctx["balancer_data"] = {
            "scheme": match.upstream_scheme, "host": service.get("host"), "port": service.get("port"),
            "retries": service.get("retries", 5), "try_count": 0, "tries": [],
            "connect_timeout": service.get("connect_timeout", 60000),
            "send_timeout": service.get("write_timeout", 60000),
            "read_timeout": service.get("read_timeout", 60000),
        }
        rq.var["upstream_scheme"] = match.upstream_scheme
        rq.var["upstream_uri"] = escape(match.upstream_uri)
        if match.upstream_host:
            rq.var["upstream_host"] = match.upstream_host
        upgrade = rq.req_headers.get_first("upgrade")
        if upgrade and upgrade.lower() == "websocket":
            rq.var["upstream_connection"] = "keep-alive, Upgrade"
            rq.var["upstream_upgrade"] = "websocket"
        else:
            rq.var["upstream_connection"] = "keep-alive"
        xff = rq.req_headers.var("x_forwarded_for")
        rq.var["upstream_x_forwarded_for"] = (xff + ", " + rq.remote_addr) if xff else rq.remote_addr
        rq.var["upstream_x_forwarded_proto"] = rq.scheme
        rq.var["upstream_x_forwarded_host"] = host
        rq.var["upstream_x_forwarded_port"] = str(rq.server_port)
        rq.var["upstream_x_forwarded_path"] = forwarded_path
        rq.var["upstream_x_forwarded_prefix"] = forwarded_prefix

    def access_after(self, rq: RequestContext) -> None:
        """handler.lua access.after: query string, Host header, hop-by-hop headers, TE."""
        ctx = rq.ctx
        if rq.request_uri.endswith("?") or rq.current_args():
            rq.var["upstream_uri"] = rq.var["upstream_uri"] + "?" + (rq.current_args() or "")
        bd = ctx["balancer_data"]
        target = ctx.get("balancer_target")
        if target:
            bd["host"], bd["port"] = target
        upstream_host = rq.var.get("upstream_host")
        if upstream_host:
            bd["preserve_host"] = True
        else:
            new_host = bd["host"]
            port, scheme = bd["port"], rq.var.get("upstream_scheme")
            if (port not in (80, 443)) or (port == 80 and scheme not in ("http", "grpc")) \
                    or (port == 443 and scheme not in ("https", "grpcs")):
                new_host = "%s:%s" % (new_host, port)
            rq.var["upstream_host"] = new_host
        connection = rq.req_headers.get_first("connection")
        if connection and connection.lower() not in ("keep-alive", "close", "upgrade"):
            for name in [h.strip().lower() for h in connection.split(",") if h.strip()]:
                if name == "upgrade":
                    if rq.var.get("upstream_connection") == "keep-alive":
                        rq.req_headers.clear(name)
                else:
                    rq.req_headers.clear(name)
        te = rq.req_headers.get_first("te")
        if te and "trailers" in [t.strip() for t in te.split(",")]:
            rq.var["upstream_te"] = "trailers"
        if rq.req_headers.has("proxy"):
            rq.req_headers.clear("Proxy")
        if rq.req_headers.has("proxy-connection"):
            rq.req_headers.clear("Proxy-Connection")

    # -- Kong.response (buffered proxying) ------------------------------------
    def response(self, rq: RequestContext) -> None:
        ctx = rq.ctx
        rq.read_body()
        res = self.proxier.fetch_buffered(rq, self)
        if res is None:
            return  # error page already produced (NgxExit raised inside)
        status, headers, body = res
        rq.set_phase("response")
        ctx["buffered_status"], ctx["buffered_headers"], ctx["buffered_body"] = status, headers, body
        ctx.setdefault("KONG_RESPONSE_START", now_ms())
        pdk_response.set_status(rq, status)
        merged: dict = {}
        for name, value in headers.items():
            if name.lower() in ("connection", "keep-alive", "transfer-encoding"):
                continue
            merged.setdefault(name, []).append(value)
        pdk_response.set_headers(rq, {k: (v[0] if len(v) == 1 else v) for k, v in merged.items()})
        for handler, cfg in self.runtime.iterator.collected(ctx, "response"):
            self._setup_plugin(rq, handler, cfg)
            try:
                self._run(rq, handler, "response", cfg)
            finally:
                self._reset_plugin(rq)
        rq.resp_body = body
        raise NgxExit(status)

    # -- error pages (kong/error_handlers.lua) --------------------------------
    def error_page(self, rq: RequestContext, status: int) -> None:
        ctx = rq.ctx
        rq.set_phase("error")
        ctx["KONG_UNEXPECTED"] = True
        rq.resp_status = status
        rq.resp_headers = type(rq.resp_headers)()
        accept = rq.req_headers.get_first("Accept") or rq.req_headers.get_first("Content-Type") \
            or self.runtime.conf.get("error_default_type", "text/plain")
        message = pdk_response.HTTP_ERROR_MESSAGES.get(status, "The upstream server responded with %d" % status)
        if status == 494:
            status = 400
        if accept.startswith("application/grpc"):
            body, headers = {"message": message}, None
        else:
            mime = pdk_response.get_response_type(accept)
            body = pdk_response.ERROR_TEMPLATES.get(mime, pdk_response.ERROR_TEMPLATES[pdk_response.CONTENT_TYPE_JSON]) \
                % (message, rq.request_id)
            headers = {"Content-Type": mime}
        for key in ("buffered_proxying", "delay_response", "delayed_response", "delayed_response_callback"):
            ctx[key] = None
        try:
            pdk_response.exit_(rq, status, body, headers)
        except NgxExit:
            pass

    # -- Kong.header_filter ------------------------------------------------
    def header_filter(self, rq: RequestContext) -> None:
        ctx = rq.ctx
        rq.set_phase("header_filter")
        ctx.setdefault("KONG_HEADER_FILTER_START", now_ms())
        enabled = self.runtime.conf.enabled_headers
        if ctx.get("KONG_PROXIED") and C.H_UPSTREAM_STATUS in enabled:
            status = ctx.get("buffered_status") or (int(rq.upstream_status[-3:]) if rq.upstream_status else None)
            if status:
                rq.resp_headers.set(C.H_UPSTREAM_STATUS, str(status))
        for handler, cfg in self.runtime.iterator.collected(ctx, "header_filter"):
            self._setup_plugin(rq, handler, cfg)
            try:
                self._run(rq, handler, "header_filter", cfg)
            except (LuaError, CoroutineYield, NgxExit) as e:
                self.runtime.log_for(rq, "error", "failed to run header_filter: %s" % e)
            finally:
                self._reset_plugin(rq)
        if ctx.get("KONG_PROXIED"):
            if ctx.get("KONG_WAITING_TIME") is None:
                ctx["KONG_WAITING_TIME"] = now_ms() - ctx.get("KONG_BALANCER_ENDED_AT", ctx.get("KONG_ACCESS_ENDED_AT", now_ms()))
            if ctx.get("KONG_PROXY_LATENCY") is None:
                ctx["KONG_PROXY_LATENCY"] = now_ms() - ctx["KONG_PROCESSING_START"]
            if C.H_UPSTREAM_LATENCY in enabled:
                rq.resp_headers.set(C.H_UPSTREAM_LATENCY, str(ctx["KONG_WAITING_TIME"]))
            if C.H_PROXY_LATENCY in enabled:
                rq.resp_headers.set(C.H_PROXY_LATENCY, str(ctx["KONG_PROXY_LATENCY"]))
            if C.H_VIA in enabled:
                rq.resp_headers.set(C.H_VIA, C.SERVER_TOKENS)
        else:
            if ctx.get("KONG_RESPONSE_LATENCY") is None:
                ctx["KONG_RESPONSE_LATENCY"] = now_ms() - ctx["KONG_PROCESSING_START"]
            if C.H_RESPONSE_LATENCY in enabled:
                rq.resp_headers.set(C.H_RESPONSE_LATENCY, str(ctx["KONG_RESPONSE_LATENCY"]))
            if not (C.H_VIA in enabled and rq.resp_headers.get_first(C.H_VIA) == C.SERVER_TOKENS):
                if C.H_SERVER in enabled:
                    rq.resp_headers.set(C.H_SERVER, C.SERVER_TOKENS)
                else:
                    rq.resp_headers.clear(C.H_SERVER)
        if C.H_REQUEST_ID in enabled:
            rq.resp_headers.set(C.H_REQUEST_ID, rq.request_id)

    def send_kong_response(self, rq: RequestContext, writer: ClientWriter) -> None:
        """Output of a Kong-produced (or buffered) response: header_filter, then the bytes through body_filter.

        response.lua send() does `ngx.print(body)` then `ngx.exit(status)`: body_filter sees the body with eof
        false, then an empty last chunk (no ngx.print for an empty body, nor for a HEAD request: header only)."""
        self.header_filter(rq)
        body = rq.resp_body or b""
        mode = "length" if rq.resp_headers.has("Content-Length") else "chunked"
        if writer.is_head:
            mode = "none" if mode == "chunked" else mode
        writer.send_head(rq.resp_status or 200, rq.resp_headers, mode)
        rq.headers_sent = True
        self.send_filtered(rq, writer, [body] if body and not writer.is_head else [])
        writer.finish()

    def send_filtered(self, rq: RequestContext, writer: ClientWriter, chunks) -> None:
        """Each chunk through body_filter (eof false) as it comes, then the last, empty one (eof true)."""
        for chunk in chunks:
            writer.send_body(self.body_filter(rq, chunk, False, writer))
        writer.send_body(self.body_filter(rq, b"", True, writer))

    # -- Kong.body_filter --------------------------------------------------
    def body_filter(self, rq: RequestContext, chunk: bytes, eof: bool, writer: ClientWriter) -> bytes:
        """init.lua Kong.body_filter: one output chunk through the collected body_filter handlers.

        ngx.arg[1]/[2] (rq.body_filter_arg) are what the handlers read and replace (lua-nginx-module
        body_filter_by_lua: nil or "" sends nothing, a table of strings is concatenated, ngx.arg[2] = true ends
        the body and later data is discarded). A Lua error aborts the response: nginx logs "failed to run
        body_filter_by_lua*" and closes the connection mid-body."""
        if rq.body_filter_ended:
            return b""
        ctx = rq.ctx
        ctx.setdefault("KONG_BODY_FILTER_START", now_ms())
        rq.set_phase("body_filter")
        handlers = self.runtime.iterator.collected(ctx, "body_filter")
        if not handlers:
            rq.body_filter_ended = eof
            return chunk
        rq.body_filter_arg = [chunk, eof]
        try:
            for handler, cfg in handlers:
                self._setup_plugin(rq, handler, cfg)
                try:
                    self._run(rq, handler, "body_filter", cfg)
                finally:
                    self._reset_plugin(rq)
        except (LuaError, CoroutineYield, NgxExit) as e:
            self.runtime.log_for(rq, "error", "failed to run body_filter_by_lua*: %s" % e)
            writer.keep_alive = False
            raise ClientGone("body_filter failed") from None
        finally:
            out, new_eof = rq.body_filter_arg
            rq.body_filter_arg = None
        rq.body_filter_ended = bool(new_eof)
        return out

    # -- Kong.log --------------------------------------------------------------
    def log(self, rq: RequestContext) -> None:
        ctx = rq.ctx
        ctx["KONG_LOG_START"] = now_ms()
        if ctx.get("KONG_PROXIED") and ctx.get("KONG_WAITING_TIME") is None:
            ctx["KONG_WAITING_TIME"] = ctx["KONG_LOG_START"] - ctx.get("KONG_BALANCER_ENDED_AT",
                                                                      ctx.get("KONG_ACCESS_ENDED_AT", 0))
        rq.set_phase("log")
        try:
            for handler, cfg in self.runtime.iterator.collected(ctx, "log"):
                self._setup_plugin(rq, handler, cfg)
                try:
                    self._run(rq, handler, "log", cfg)
                except (LuaError, CoroutineYield, NgxExit) as e:
                    self.runtime.log_for(rq, "error", "failed to run log phase: %s" % e)
                finally:
                    self._reset_plugin(rq)
        finally:
            self.runtime.stats.request_finished(rq.request_id)
