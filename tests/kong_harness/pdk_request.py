"""``kong.request.*`` (kong/pdk/request.lua) with its phase checks.

Why: the Python plugins read the client request exclusively through these
calls; return shapes (strings vs tables, ``true`` for value-less query args,
``nil`` bodies when the body went to a temp file) must match Kong 3.6.1.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from . import cjson
from . import phases as PH
from .luatypes import LuaError
from .pdk_base import Ret, pdk, text, want_number, want_string
from .request_ctx import RequestContext
from .uri import normalize

CONTENT_TYPE_POST = "application/x-www-form-urlencoded"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_FORM_DATA = "multipart/form-data"


def _check(rq: RequestContext, mask: int) -> None:
    PH.check(rq.phase, mask)


@pdk("kong.request.get_scheme")
def get_scheme(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return rq.get_var("scheme")


@pdk("kong.request.get_host")
def get_host(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return rq.get_var("host")


@pdk("kong.request.get_port")
def get_port(rq: RequestContext) -> Any:
    PH.check_not(rq.phase, PH.phases("init_worker"))
    return int(rq.get_var("server_port"))


@pdk("kong.request.get_forwarded_scheme")
def get_forwarded_scheme(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return get_scheme(rq)  # trusted_ips = NONE: forwarded headers are ignored


@pdk("kong.request.get_forwarded_host")
def get_forwarded_host(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return get_host(rq)


@pdk("kong.request.get_forwarded_port")
def get_forwarded_port(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return rq.ctx.get("host_port") or get_port(rq)


@pdk("kong.request.get_forwarded_path")
def get_forwarded_path(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return get_path(rq)


@pdk("kong.request.get_forwarded_prefix")
def get_forwarded_prefix(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return rq.get_var("upstream_x_forwarded_prefix")


@pdk("kong.request.get_http_version")
def get_http_version(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    rq.need_request()
    return rq.http_version


@pdk("kong.request.get_method")
def get_method(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    rq.need_request()
    if rq.ctx.get("KONG_UNEXPECTED") and rq.http_version < 2:
        return rq.var.get("original_method", rq.method)
    return rq.method


@pdk("kong.request.get_path")
def get_path(rq: RequestContext) -> Any:
    return normalize(get_raw_path(rq), True)


@pdk("kong.request.get_raw_path")
def get_raw_path(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    rq.need_request()
    return rq.raw_path


@pdk("kong.request.get_path_with_query")
def get_path_with_query(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return rq.get_var("request_uri") or ""


@pdk("kong.request.get_raw_query")
def get_raw_query(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return rq.get_var("args") or ""


@pdk("kong.request.get_query_arg")
def get_query_arg(rq: RequestContext, name: Any = None) -> Any:
    _check(rq, PH.REQUEST)
    want_string(name, "query argument name must be a string")
    value = get_query(rq).get(text(name))
    if isinstance(value, list):
        return value[0]
    return value


@pdk("kong.request.get_query")
def get_query(rq: RequestContext, max_args: Any = None) -> Any:
    _check(rq, PH.REQUEST)
    if max_args is not None:
        want_number(max_args, "max_args must be a number")
        if max_args < 1:
            raise LuaError("max_args must be >= 1")
        if max_args > 1000:
            raise LuaError("max_args must be <= 1000")
    rq.need_request()
    args = rq.uri_args()
    limit = int(max_args) if max_args is not None else 100
    return dict(list(args.items())[:limit])


@pdk("kong.request.get_header")
def get_header(rq: RequestContext, name: Any = None) -> Any:
    _check(rq, PH.REQUEST)
    want_string(name, "header name must be a string")
    rq.need_request()
    vals = rq.req_headers.get_all(text(name).replace("_", "-"))
    if not vals:
        vals = rq.req_headers.get_all(text(name))
    return vals[0] if vals else None


@pdk("kong.request.get_headers")
def get_headers(rq: RequestContext, max_headers: Any = None) -> Any:
    _check(rq, PH.REQUEST)
    if max_headers is not None:
        want_number(max_headers, "max_headers must be a number")
        if max_headers < 1:
            raise LuaError("max_headers must be >= 1")
        if max_headers > 1000:
            raise LuaError("max_headers must be <= 1000")
    rq.need_request()
    return rq.req_headers.to_lua(int(max_headers) if max_headers is not None else 100)


@pdk("kong.request.get_raw_body")
def get_raw_body(rq: RequestContext) -> Any:
    _check(rq, PH.BEFORE_CONTENT)
    rq.need_request()
    rq.read_body()
    body = rq.get_body_data()
    if body is None:
        if rq.body_in_file:
            return Ret((None, "request body did not fit into client body buffer, consider raising "
                              "'client_body_buffer_size'"))
        return b""
    return body


def _parse_form(body: bytes) -> dict:
    out: dict = {}
    for part in body.decode("utf-8", "surrogateescape").split("&"):
        if not part:
            continue
        k, sep, v = part.partition("=")
        key = unquote_plus(k)
        val: Any = unquote_plus(v) if sep else True
        if key in out:
            cur = out[key]
            out[key] = (cur if isinstance(cur, list) else [cur]) + [val]
        else:
            out[key] = val
    return out


def _parse_multipart(body: bytes, content_type: str) -> dict | None:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        return None
    boundary = b"--" + m.group(1).encode()
    out: dict = {}
    for part in body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, value = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        nm = re.search(rb'name="([^"]*)"', head)
        if not nm:
            continue
        key = nm.group(1).decode("utf-8", "surrogateescape")
        val = value[:-2] if value.endswith(b"\r\n") else value
        sval = val.decode("utf-8", "surrogateescape")
        if key in out:
            cur = out[key]
            out[key] = (cur if isinstance(cur, list) else [cur]) + [sval]
        else:
            out[key] = sval
    return out


@pdk("kong.request.get_body")
def get_body(rq: RequestContext, mimetype: Any = None, max_args: Any = None) -> Any:
    _check(rq, PH.BEFORE_CONTENT)
    content_type = text(mimetype) if mimetype is not None else get_header(rq, "Content-Type")
    if not content_type:
        return Ret((None, "missing content type"))
    ct = content_type.lower().split(";", 1)[0]
    if ct.startswith(CONTENT_TYPE_POST):
        if max_args is not None:
            want_number(max_args, "max_args must be a number")
        rq.read_body()
        if rq.body_in_file:
            return Ret((None, "request body in temp file not supported", CONTENT_TYPE_POST))
        return Ret((_parse_form(rq.body or b""), None, CONTENT_TYPE_POST))
    if ct.startswith(CONTENT_TYPE_JSON):
        raw = get_raw_body(rq)
        if isinstance(raw, Ret):
            return Ret((None, raw.err, CONTENT_TYPE_JSON))
        value, _ = cjson.safe_decode(raw or b"", array_mt=True)
        if not isinstance(value, (dict, list)):
            return Ret((None, "invalid json body", CONTENT_TYPE_JSON))
        return Ret((value, None, CONTENT_TYPE_JSON))
    if ct.startswith(CONTENT_TYPE_FORM_DATA):
        raw = get_raw_body(rq)
        if isinstance(raw, Ret):
            return Ret((None, raw.err, CONTENT_TYPE_FORM_DATA))
        parts = _parse_multipart(raw, content_type)
        if parts is None:
            return Ret((None, "unable to decode multipart body", CONTENT_TYPE_FORM_DATA))
        return Ret((parts, None, CONTENT_TYPE_FORM_DATA))
    return Ret((None, "unsupported content type '%s'" % content_type, ct))


@pdk("kong.request.get_start_time")
def get_start_time(rq: RequestContext) -> Any:
    _check(rq, PH.REQUEST)
    return rq.ctx.get("KONG_PROCESSING_START") or int(rq.start_time * 1000)


def uri_captures(ctx: dict) -> dict:
    """request.lua get_uri_captures/capture_wrap."""
    captures = (ctx.get("router_matches") or {}).get("uri_captures") or {}
    unnamed = {k: v for k, v in captures.items() if isinstance(k, int)}
    named = {k: v for k, v in captures.items() if isinstance(k, str)}
    return {"unnamed": cjson.JsonArray([unnamed[k] for k in sorted(unnamed)]) if 0 not in unnamed else unnamed,
            "named": named}


@pdk("kong.request.get_uri_captures")
def get_uri_captures(rq: RequestContext, ctx: Any = None) -> Any:
    _check(rq, PH.REQUEST)
    return uri_captures(ctx if isinstance(ctx, dict) else rq.ctx)
