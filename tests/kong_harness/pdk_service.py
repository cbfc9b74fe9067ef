"""``kong.service.*`` and ``kong.service.request.*`` (kong/pdk/service.lua,
kong/pdk/service/request.lua).

Why: plugins rewrite the upstream request (headers, path, query, body,
target); the changes must show up in the proxied request exactly as nginx
would send it, and headers set here are visible to later
``kong.request.get_header`` calls (``ngx.req.set_header`` semantics).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import cjson
from . import phases as PH
from .luatypes import LuaError, lua_tostring
from .pdk_base import Ret, pdk, text, want_string
from .pdk_response import normalize_multi_header, validate_header, validate_headers
from .request_ctx import RequestContext
from .uri import escape

ACCEPTED_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE",
                    "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH", "TRACE")


def _encode_args(args: dict) -> str:
    """ngx.encode_args for one key; service/request.lua make_ordered_args sorts the pieces."""
    out = []
    for k, v in args.items():
        if not isinstance(k, (str, bytes)):
            raise LuaError("arg keys must be strings")
        key = quote(text(k), safe="")
        values = v if isinstance(v, list) else [v]
        for item in values:
            if item is True:
                out.append(key)
            elif item is False or item is None:
                continue
            else:
                out.append(key + "=" + quote(lua_tostring(item), safe=""))
    return "&".join(sorted(out))


@pdk("kong.service.set_upstream")
def set_upstream(rq: RequestContext, host: Any = None) -> Any:
    PH.check(rq.phase, PH.ACCESS)
    want_string(host, "host must be a string")
    return Ret((None, "could not find an Upstream named '%s'" % text(host)))


@pdk("kong.service.set_target")
def set_target(rq: RequestContext, host: Any = None, port: Any = None) -> Any:
    PH.check(rq.phase, PH.phases("rewrite", "access", "balancer"))
    want_string(host, "host must be a string")
    if isinstance(port, bool) or not isinstance(port, (int, float)) or port != int(port):
        raise LuaError("port must be an integer")
    if port < 0 or port > 65535:
        raise LuaError("port must be an integer between 0 and 65535: given " + lua_tostring(port))
    rq.ctx["balancer_target"] = (text(host), int(port))


@pdk("kong.service.set_timeouts")
def set_timeouts(rq: RequestContext, connect: Any = None, write: Any = None, read: Any = None) -> Any:
    PH.check(rq.phase, PH.phases("access", "balancer"))
    rq.ctx["balancer_timeouts"] = (connect, write, read)


@pdk("kong.service.set_retries")
def set_retries(rq: RequestContext, retries: Any = None) -> Any:
    PH.check(rq.phase, PH.phases("access", "balancer"))


@pdk("kong.service.request.enable_buffering")
def enable_buffering(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    if rq.http_version >= 2:
        raise LuaError("buffered proxying cannot currently be enabled with http/%s, please use http/1.x instead"
                       % lua_tostring(rq.http_version))
    rq.ctx["buffered_proxying"] = True


@pdk("kong.service.request.set_scheme")
def set_scheme(rq: RequestContext, scheme: Any = None) -> Any:
    PH.check(rq.phase, PH.ACCESS)
    want_string(scheme, "scheme must be a string")
    if text(scheme) not in ("http", "https"):
        raise LuaError("invalid scheme: " + text(scheme))
    rq.var["upstream_scheme"] = text(scheme)


@pdk("kong.service.request.set_path")
def set_path(rq: RequestContext, path: Any = None) -> Any:
    PH.check(rq.phase, PH.ACCESS)
    want_string(path, "path must be a string")
    if not text(path).startswith("/"):
        raise LuaError("path must start with /")
    rq.var["upstream_uri"] = escape(text(path))


@pdk("kong.service.request.set_raw_query")
def set_raw_query(rq: RequestContext, query: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    want_string(query, "query must be a string")
    rq.set_args(text(query))


@pdk("kong.service.request.set_method")
def set_method(rq: RequestContext, method: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    want_string(method, "method must be a string")
    if text(method) not in ACCEPTED_METHODS:
        raise LuaError("invalid method: " + text(method))
    rq.var.setdefault("original_method", rq.method)
    rq.method = text(method)


@pdk("kong.service.request.set_query")
def set_query(rq: RequestContext, args: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    if not isinstance(args, (dict, list)):
        raise LuaError("args must be a table")
    rq.set_args(_encode_args(args if isinstance(args, dict) else {}))


@pdk("kong.service.request.set_header")
def set_header(rq: RequestContext, header: Any = None, value: Any = None) -> Any:
    PH.check(rq.phase, PH.ACCESS_REWRITE_BALANCER)
    validate_header(header, value)
    name = text(header)
    if name.lower() == "host":
        rq.var["upstream_host"] = lua_tostring(value) if not isinstance(value, (str, bytes)) else text(value)
    if name.lower() == ":authority":
        return Ret((None, "cannot set :authority pseudo-header on non-grpc requests"))
    norm = normalize_multi_header(value)
    if norm == []:
        rq.req_headers.clear(name)
    else:
        rq.req_headers.set(name, norm)


@pdk("kong.service.request.add_header")
def add_header(rq: RequestContext, header: Any = None, value: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    validate_header(header, value)
    name = text(header)
    if name.lower() == "host":
        rq.var["upstream_host"] = text(value) if isinstance(value, (str, bytes)) else lua_tostring(value)
    norm = normalize_multi_header(value)
    for v in norm if isinstance(norm, list) else [norm]:
        rq.req_headers.add(name, v)


@pdk("kong.service.request.clear_header")
def clear_header(rq: RequestContext, header: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    want_string(header, "header must be a string")
    rq.req_headers.clear(text(header))


@pdk("kong.service.request.set_headers")
def set_headers(rq: RequestContext, headers: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    if not isinstance(headers, (dict, list)):
        raise LuaError("headers must be a table")
    validate_headers(headers)
    for k, v in (headers.items() if isinstance(headers, dict) else []):
        if text(k).lower() == "host":
            rq.var["upstream_host"] = text(v) if isinstance(v, (str, bytes)) else lua_tostring(v)
        rq.req_headers.set(text(k), normalize_multi_header(v))


@pdk("kong.service.request.set_raw_body")
def set_raw_body(rq: RequestContext, body: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    want_string(body, "body must be a string")
    data = body if isinstance(body, bytes) else text(body).encode("utf-8", "surrogateescape")
    rq.set_body_data(data)


@pdk("kong.service.request.set_body")
def set_body(rq: RequestContext, args: Any = None, mime: Any = None) -> Any:
    PH.check(rq.phase, PH.REWRITE_ACCESS)
    if not isinstance(args, (dict, list)):
        raise LuaError("args must be a table")
    if mime is not None and not isinstance(mime, (str, bytes)):
        raise LuaError("mime must be a string")
    if mime is None:
        mime = rq.req_headers.get_first("Content-Type")
        if mime is None:
            return Ret((None, "content type was neither explicitly given as an argument or received as a header"))
    mime = text(mime)
    base = mime.split(";", 1)[0]
    if base == "application/x-www-form-urlencoded":
        body, ctype = _encode_args(args if isinstance(args, dict) else {}), mime
    elif base == "application/json":
        body, ctype = cjson.encode(args), mime
    elif base == "multipart/form-data":
        boundary = mime.split("boundary=", 1)[1].strip('"') if "boundary=" in mime else "kongharness"
        parts = []
        for k in sorted(args.keys() if isinstance(args, dict) else []):
            parts.append("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                         % (boundary, text(k), lua_tostring(args[k])))
        body = "".join(parts) + "--%s--\r\n" % boundary
        ctype = "multipart/form-data; boundary=" + boundary
    else:
        raise LuaError("unsupported content type " + mime)
    rq.read_body()
    rq.set_body_data(body.encode("utf-8", "surrogateescape"))
    rq.req_headers.set("Content-Type", ctype)
    return True
