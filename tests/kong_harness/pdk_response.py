"""``kong.response.*`` and ``kong.service.response.*`` (kong/pdk/response.lua,
kong/pdk/service/response.lua), plus Kong's error templates (kong/tools/http.lua).

Why: short-circuit responses produced by plugins must carry Kong's exact
status, body and Content-Type/Content-Length rules; in the access phase
``exit``/``error`` only *record* a delayed response and yield the plugin
coroutine (``ctx.delay_response``), elsewhere they send immediately (``ngx.exit``).
"""
from __future__ import annotations

import re
from typing import Any

from . import cjson
from . import phases as PH
from .luatypes import CoroutineYield, LuaError, NgxExit, lua_ipairs, lua_tostring
from .pdk_base import Ret, pdk, text, want_string
from .request_ctx import RequestContext

CONTENT_TYPE_JSON = "application/json; charset=utf-8"

HTTP_ERROR_MESSAGES = {
    400: "Bad request", 401: "Unauthorized", 402: "Payment required", 403: "Forbidden",
    404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
    407: "Proxy authentication required", 408: "Request timeout", 409: "Conflict", 410: "Gone",
    411: "Length required", 412: "Precondition failed", 413: "Payload too large",
    414: "URI too long", 415: "Unsupported media type", 416: "Range not satisfiable",
    417: "Expectation failed", 418: "I'm a teapot", 421: "Misdirected request",
    422: "Unprocessable entity", 423: "Locked", 424: "Failed dependency", 425: "Too early",
    426: "Upgrade required", 428: "Precondition required", 429: "Too many requests",
    431: "Request header fields too large", 451: "Unavailable for legal reasons",
    494: "Request header or cookie too large", 500: "An unexpected error occurred",
    501: "Not implemented", 502: "An invalid response was received from the upstream server",
    503: "The upstream server is currently unavailable", 504: "The upstream server is timing out",
    505: "HTTP version not supported", 506: "Variant also negotiates", 507: "Insufficient storage",
    508: "Loop detected", 510: "Not extended", 511: "Network authentication required",
}

MIME_TYPES = {
    "application/grpc": "", "text/html": "text/html; charset=utf-8",
    "application/json": CONTENT_TYPE_JSON, "text/plain": "text/plain; charset=utf-8",
    "application/xml": "application/xml; charset=utf-8", "application": CONTENT_TYPE_JSON,
    "text": "text/plain; charset=utf-8", "default": CONTENT_TYPE_JSON,
}

ERROR_TEMPLATES = {
    CONTENT_TYPE_JSON: '{\n  "message":"%s",\n  "request_id":"%s"\n}',
    "text/html; charset=utf-8": ("<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n"
                                 "    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n"
                                 "    <p>%s.</p>\n    <p>request_id: %s</p>\n  </body>\n</html>\n"),
    "text/plain; charset=utf-8": "%s\nrequest_id: %s\n",
    "application/xml; charset=utf-8": ('<?xml version="1.0" encoding="UTF-8"?>\n<error>\n'
                                       "  <message>%s</message>\n  <requestid>%s</requestid>\n</error>\n"),
}


def get_http_error_message(status: int) -> str:
    return HTTP_ERROR_MESSAGES.get(status, "The upstream server responded with %d" % status)


def get_mime_type(content_header: str) -> str:
    """kong/tools/http.lua get_mime_type (use_default)."""
    content_header = content_header.strip().split(";")[0]
    entries = content_header.split("/")
    mime = None
    if len(entries) > 1:
        if entries[1] == "*":
            mime = MIME_TYPES["default"] if entries[0] == "*" else MIME_TYPES.get(entries[0])
        else:
            mime = MIME_TYPES.get(content_header)
    return mime or MIME_TYPES["default"]


def get_response_type(accept_header: Any) -> str:
    """kong/tools/http.lua get_response_type."""
    content_type = MIME_TYPES["default"]
    if isinstance(accept_header, list):
        accept_header = ",".join(accept_header)
    if accept_header is None:
        return content_type
    max_q = 0.0
    rx = re.compile(r"((?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*)/(?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*))"
                    r"(?:\s*;\s*q=(1(?:\.0{0,3}|)|0(?:\.\d{0,3}|))|\s*;\s*[a-z0-9][a-z0-9\-!#$&^_+.]+(?:=[^;]*|))*",
                    re.I)
    for value in text(accept_header).split(","):
        m = rx.match(value.strip())
        if m:
            q = float(m.group(2)) if m.group(2) else 1.0
            if q > max_q:
                max_q = q
                content_type = get_mime_type(m.group(1)) or content_type
    return content_type


def normalize_multi_header(value: Any) -> Any:
    """kong/pdk/private/checks.lua normalize_multi_header."""
    if isinstance(value, (str, bytes)):
        v = text(value)
        return " " if v == "" else v
    if isinstance(value, (list, dict)):
        return [(" " if text(v) == "" else text(v)) for v in lua_ipairs(value)]
    return lua_tostring(value)


def validate_header(name: Any, value: Any) -> None:
    if not isinstance(name, (str, bytes)):
        raise LuaError('invalid header name "%s": got %s, expected string' % (lua_tostring(name), type(name).__name__))
    if isinstance(value, (str, bytes, bool, int, float)):
        return
    if isinstance(value, (list, dict)):
        for v in lua_ipairs(value):
            if not isinstance(v, (str, bytes)):
                raise LuaError('invalid header value in array "%s": got %s, expected string' % (text(name), type(v).__name__))
        return
    raise LuaError('invalid header value for "%s": got %s, expected array of string, string, number or boolean'
                   % (text(name), "nil" if value is None else type(value).__name__))


def validate_headers(headers: Any) -> None:
    if not isinstance(headers, (dict, list)):
        raise LuaError("headers must be a table")
    for k, v in (headers.items() if isinstance(headers, dict) else enumerate(headers, 1)):
        if not isinstance(k, (str, bytes)):
            raise LuaError('invalid header name "%s": got number, expected string' % lua_tostring(k))
        if not isinstance(v, (str, bytes, int, float, bool, list, dict)):
            raise LuaError('invalid header value for "%s": got %s, expected string, number, boolean or array of strings'
                           % (text(k), type(v).__name__))


def _set_resp_header(rq: RequestContext, name: str, value: Any) -> None:
    norm = normalize_multi_header(value)
    if norm == [] or norm is None:
        rq.resp_headers.clear(name)
    else:
        rq.resp_headers.set(name, norm)


def send(rq: RequestContext, status: int, body: Any, headers: Any) -> None:
    """response.lua send(): set status/headers, encode the body, ``ngx.exit``."""
    if rq.headers_sent:
        raise LuaError("headers have already been sent")
    rq.resp_status = int(status)
    has_ct = has_cl = False
    if headers is not None:
        for name, value in (headers.items() if isinstance(headers, dict) else []):
            lname = text(name).lower()
            if lname in ("transfer-encoding", "transfer_encoding"):
                rq.runtime.log_for(rq, "warn", "manually setting Transfer-Encoding. Ignored.")
            else:
                _set_resp_header(rq, text(name), value)
            if lname in ("content-type", "content_type"):
                has_ct = True
            elif lname in ("content-length", "content_length"):
                has_cl = True
    out: bytes | None = None
    if isinstance(body, (dict, list)):
        try:
            encoded = cjson.encode(body)
        except LuaError as e:
            raise LuaError("body encoding failed while flushing response: %s" % e) from None
        if not has_ct:
            rq.resp_headers.set("Content-Type", CONTENT_TYPE_JSON)
        out = encoded.encode("utf-8", "surrogateescape")
        if not has_cl:
            rq.resp_headers.set("Content-Length", str(len(out)))
    elif body is not None:
        out = body if isinstance(body, bytes) else text(body).encode("utf-8", "surrogateescape")
        if not has_cl:
            rq.resp_headers.set("Content-Length", str(len(out)))
    elif not has_cl:
        rq.resp_headers.set("Content-Length", "0")
    rq.resp_body = out if out is not None else b""
    raise NgxExit(status)


def _exit_common(rq: RequestContext, status: Any, headers: Any) -> None:
    PH.check(rq.phase, PH.REWRITE_ACCESS_HEADER)
    if rq.headers_sent:
        raise LuaError("headers have already been sent")
    if isinstance(status, bool) or not isinstance(status, (int, float)):
        raise LuaError("code must be a number")


@pdk("kong.response.exit")
def exit_(rq: RequestContext, status: Any = None, body: Any = None, headers: Any = None) -> Any:
    _exit_common(rq, status, headers)
    if status < 100 or status > 599:
        raise LuaError("code must be a number between 100 and 599")
    if body is not None and not isinstance(body, (str, bytes, dict, list)):
        raise LuaError("body must be a nil, string or table")
    if headers is not None:
        if not isinstance(headers, (dict, list)):
            raise LuaError("headers must be a nil or table")
        validate_headers(headers)
    rq.ctx["KONG_EXITED"] = True
    if rq.ctx.get("delay_response") and not rq.ctx.get("delayed_response"):
        rq.ctx["delayed_response"] = {"status_code": int(status), "content": body, "headers": headers}
        rq.ctx["delayed_response_callback"] = "flush"
        raise CoroutineYield()
    send(rq, int(status), body, headers)


@pdk("kong.response.error")
def error(rq: RequestContext, status: Any = None, message: Any = None, headers: Any = None) -> Any:
    _exit_common(rq, status, headers)
    if status < 400 or status > 599:
        raise LuaError("code must be a number between 400 and 599")
    if message is not None:
        if isinstance(message, (dict, list)):
            message = cjson.encode(message)
        if not isinstance(message, (str, bytes)):
            raise LuaError("message must be a nil, a string or a table")
    if headers is not None and not isinstance(headers, dict):
        raise LuaError("headers must be a nil or table")
    headers = dict(headers) if headers else {}
    if headers:
        validate_headers(headers)
    ct_header = headers.get("Content-Type")
    content_type = ct_header[0] if isinstance(ct_header, list) and ct_header else ct_header
    if ct_header is None:
        content_type = get_response_type(rq.req_headers.to_lua().get("accept"))
    headers["Content-Type"] = content_type
    body = None
    if content_type != "application/grpc":
        actual = text(message) if message is not None else get_http_error_message(int(status))
        template = ERROR_TEMPLATES.get(content_type, ERROR_TEMPLATES[CONTENT_TYPE_JSON])
        body = template % (actual, rq.request_id)
    rq.ctx["KONG_EXITED"] = True
    if rq.ctx.get("delay_response") and not rq.ctx.get("delayed_response"):
        rq.ctx["delayed_response"] = {"status_code": int(status), "content": body, "headers": headers}
        rq.ctx["delayed_response_callback"] = "flush"
        raise CoroutineYield()
    send(rq, int(status), body, headers)


@pdk("kong.response.get_status")
def get_status(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.HEADER_BODY_LOG)
    rq.need_request()
    return rq.resp_status


@pdk("kong.response.get_headers")
def get_headers(rq: RequestContext, max_headers: Any = None) -> Any:
    PH.check(rq.phase, PH.HEADER_BODY_LOG)
    rq.need_request()
    return rq.resp_headers.to_lua(int(max_headers) if isinstance(max_headers, (int, float)) else 100)


@pdk("kong.response.get_header")
def get_header(rq: RequestContext, name: Any = None) -> Any:
    PH.check(rq.phase, PH.HEADER_BODY_LOG)
    want_string(name, "header name must be a string")
    value = get_headers(rq).get(text(name).lower())
    return value[0] if isinstance(value, list) else value


def response_source(ctx: dict) -> str:
    """response.lua get_source(ctx)."""
    if ctx.get("KONG_UNEXPECTED"):
        return "error"
    if ctx.get("KONG_EXITED"):
        return "exit"
    if ctx.get("KONG_PROXIED"):
        return "service"
    return "error"


@pdk("kong.response.get_source")
def get_source(rq: RequestContext, ctx: Any = None) -> Any:
    if ctx is None:
        PH.check(rq.phase, PH.HEADER_BODY_LOG)
        ctx = rq.ctx
    return response_source(ctx)


def _settable(rq: RequestContext) -> None:
    PH.check(rq.phase, PH.REWRITE_ACCESS_HEADER)
    if rq.headers_sent:
        raise LuaError("headers have already been sent")


@pdk("kong.response.set_status")
def set_status(rq: RequestContext, status: Any = None) -> Any:
    _settable(rq)
    if isinstance(status, bool) or not isinstance(status, (int, float)):
        raise LuaError("code must be a number")
    if status < 100 or status > 599:
        raise LuaError("code must be a number between 100 and 599")
    rq.resp_status = int(status)


@pdk("kong.response.set_header")
def set_header(rq: RequestContext, name: Any = None, value: Any = None) -> Any:
    _settable(rq)
    validate_header(name, value)
    if text(name).lower() in ("transfer-encoding", "transfer_encoding"):
        rq.runtime.log_for(rq, "warn", "manually setting Transfer-Encoding. Ignored.")
        return None
    _set_resp_header(rq, text(name), value)


@pdk("kong.response.add_header")
def add_header(rq: RequestContext, name: Any = None, value: Any = None) -> Any:
    _settable(rq)
    validate_header(name, value)
    norm = normalize_multi_header(value)
    for v in norm if isinstance(norm, list) else [norm]:
        rq.resp_headers.add(text(name), v)


@pdk("kong.response.clear_header")
def clear_header(rq: RequestContext, name: Any = None) -> Any:
    _settable(rq)
    want_string(name, "header name must be a string")
    rq.resp_headers.clear(text(name))


@pdk("kong.response.set_headers")
def set_headers(rq: RequestContext, headers: Any = None) -> Any:
    _settable(rq)
    validate_headers(headers)
    for name, value in (headers.items() if isinstance(headers, dict) else []):
        if text(name).lower() in ("transfer-encoding", "transfer_encoding"):
            rq.runtime.log_for(rq, "warn", "manually setting Transfer-Encoding. Ignored.")
        else:
            _set_resp_header(rq, text(name), value)


@pdk("kong.response.get_raw_body")
def get_raw_body(rq: RequestContext) -> Any:
    """response.lua get_raw_body: buffers the chunks (ngx.ctx.KONG_BODY_BUFFER), sending none of them, and gives
    the whole body on the last one, which it also sends. Only Lua (pre-/post-function) runs body_filter."""
    PH.check(rq.phase, PH.BODY_FILTER)
    arg = rq.body_filter_arg
    chunk, eof = arg
    if eof and rq.body_buffer is None:
        return chunk
    if isinstance(chunk, (bytes, str)) and chunk:
        rq.body_buffer = (rq.body_buffer or b"") + (chunk if isinstance(chunk, bytes) else chunk.encode())
    if eof:
        body, rq.body_buffer = rq.body_buffer or b"", None
        arg[0] = body
        return body
    arg[0] = None
    return None


@pdk("kong.response.set_raw_body")
def set_raw_body(rq: RequestContext, body: Any = None) -> Any:
    """response.lua set_raw_body: this chunk becomes the whole body and ends it (Content-Length is the caller's)."""
    PH.check(rq.phase, PH.BODY_FILTER)
    if not isinstance(body, (str, bytes)):
        raise LuaError("body must be a string")
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogateescape")
    rq.body_filter_arg[0] = raw or b"\n"   # "Needed by Nginx"
    rq.body_filter_arg[1] = True
    rq.body_buffer = None


# -- kong.service.response (kong/pdk/service/response.lua) -------------------
@pdk("kong.service.response.get_status")
def service_get_status(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.SERVICE_RESPONSE)
    if rq.ctx.get("buffered_status") is not None:
        return rq.ctx["buffered_status"]
    rq.need_request()
    status = rq.upstream_status or ""
    return int(status[-3:]) if status[-3:].isdigit() else None


@pdk("kong.service.response.get_headers")
def service_get_headers(rq: RequestContext, max_headers: Any = None) -> Any:
    PH.check(rq.phase, PH.SERVICE_RESPONSE)
    buffered = rq.ctx.get("buffered_headers")
    if buffered is not None:
        return buffered.to_lua(int(max_headers) if isinstance(max_headers, (int, float)) else 100)
    rq.need_request()
    upstream = rq.var.get("upstream_headers")
    return upstream.to_lua() if upstream is not None else {}


@pdk("kong.service.response.get_header")
def service_get_header(rq: RequestContext, name: Any = None) -> Any:
    PH.check(rq.phase, PH.SERVICE_RESPONSE)
    want_string(name, "name must be a string")
    value = service_get_headers(rq).get(text(name).lower())
    return value[0] if isinstance(value, list) else value


@pdk("kong.service.response.get_raw_body")
def service_get_raw_body(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.SERVICE_RESPONSE)
    if not rq.ctx.get("buffered_proxying"):
        raise LuaError("service body is only available with buffered proxying")
    return rq.ctx.get("buffered_body") or b""


@pdk("kong.service.response.get_body")
def service_get_body(rq: RequestContext, mimetype: Any = None, max_args: Any = None) -> Any:
    body = service_get_raw_body(rq)
    ctype = text(mimetype) if mimetype else service_get_header(rq, "Content-Type")
    if not ctype:
        return Ret((None, "missing content type"))
    if ctype.lower().startswith("application/json"):
        value, _ = cjson.safe_decode(body, array_mt=True)
        if not isinstance(value, (dict, list)):
            return Ret((None, "invalid json body"))
        return value
    return Ret((None, "unsupported content type '%s'" % ctype))
