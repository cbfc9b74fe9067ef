"""PDK method resolution and result shaping for the RPC bridge.

Why: mirrors kong/runloop/plugin_servers/mp_rpc.lua ``call_pdk_method``
(exposed_api first, then a ``\\w+`` walk of the ``kong`` table, "could not find
pdk method", only ONE return value kept - the 3.6.1 quirk that turns
``nil, err`` into a Step without data), ``must_fix`` (fix_mmap / fix_raw) and
``get_step_method``; plus the ``exposed_api`` overrides of
kong/runloop/plugin_servers/init.lua that answer log-phase calls from the
saved snapshot.
"""
from __future__ import annotations

import inspect
import re
from functools import lru_cache
from typing import Any, Callable

from . import cjson
from . import pdk_client, pdk_log, pdk_request, pdk_response, pdk_service  # noqa: F401 (register)
from .constants import KONG_VERSION
from .luatypes import EMPTY_ARRAY, EMPTY_MAP, LuaError, RawBinaryHook, lua_type
from .pdk_base import FUNCTIONS, NAMESPACES, first, text
from .request_ctx import RequestContext


def _saved(rq: RequestContext):
    return rq.snapshot


def _x_serialize(rq: RequestContext, *_: Any) -> Any:
    saved = _saved(rq)
    data = saved.serialize_data if saved else pdk_log.serialize(rq)
    encoded, _err = cjson.safe_encode(data)     # cjson drops nil (None) values itself
    return encoded


def _x_get_var(rq: RequestContext, v: Any = None, *_: Any) -> Any:
    return rq.get_var(text(v)) if isinstance(v, (str, bytes)) else None


def _x_tls1_version(rq: RequestContext, *_: Any) -> Any:
    return None  # plain-text listener: ngx_ssl.get_tls1_version_str() -> nil


def _x_get_ctx(rq: RequestContext, k: Any = None, *_: Any) -> Any:
    return rq.ctx.get(k)


def _x_set_ctx(rq: RequestContext, k: Any = None, v: Any = None, *_: Any) -> Any:
    if k is None:
        raise LuaError("table index is nil")
    if v is None:
        rq.ctx.pop(k, None)
    else:
        rq.ctx[k] = v


def _x_shared_get(rq: RequestContext, k: Any = None, *_: Any) -> Any:
    saved = _saved(rq)
    shared = saved.ctx_shared if saved else rq.shared
    return shared.get(k)


def _x_shared_set(rq: RequestContext, k: Any = None, v: Any = None, *_: Any) -> Any:
    saved = _saved(rq)
    shared = saved.ctx_shared if saved else rq.shared
    if k is None:
        raise LuaError("table index is nil")
    if v is None:
        shared.pop(k, None)
    else:
        shared[k] = v


def _lookup_normalized(headers: dict, name: Any) -> Any:
    """The case/underscore-insensitive ``__index`` of ngx.req/resp.get_headers() tables."""
    if not isinstance(name, (str, bytes)):
        return None
    key = text(name).lower().replace("_", "-")
    return headers.get(key, headers.get(text(name)))


def _x_req_headers(rq: RequestContext, max_headers: Any = None, *_: Any) -> Any:
    saved = _saved(rq)
    return saved.request_headers if saved else pdk_request.get_headers(rq, max_headers)


def _x_req_header(rq: RequestContext, name: Any = None, *_: Any) -> Any:
    saved = _saved(rq)
    if not saved:
        return pdk_request.get_header(rq, name)
    value = _lookup_normalized(saved.request_headers, name)
    return value[0] if isinstance(value, list) else value


def _x_uri_captures(rq: RequestContext, *_: Any) -> Any:
    return pdk_request.get_uri_captures(rq, rq.ctx)


def _x_resp_status(rq: RequestContext, *_: Any) -> Any:
    saved = _saved(rq)
    return saved.response_status if saved else pdk_response.get_status(rq)


def _x_resp_headers(rq: RequestContext, max_headers: Any = None, *_: Any) -> Any:
    saved = _saved(rq)
    return saved.response_headers if saved else pdk_response.get_headers(rq, max_headers)


def _x_resp_header(rq: RequestContext, name: Any = None, *_: Any) -> Any:
    saved = _saved(rq)
    if not saved:
        return pdk_response.get_header(rq, name)
    value = _lookup_normalized(saved.response_headers or {}, name)
    return value[0] if isinstance(value, list) else value


def _x_resp_source(rq: RequestContext, *_: Any) -> Any:
    saved = _saved(rq)
    return pdk_response.get_source(rq, saved.ngx_ctx if saved else None)


def _x_req_start_time(rq: RequestContext, *_: Any) -> Any:
    saved = _saved(rq)
    if saved:
        return saved.req_start_time
    rq.need_request()
    return round(rq.start_time, 3)


# plugin_servers/init.lua exposed_api
EXPOSED: dict[str, Callable[..., Any]] = {
    "kong.log.serialize": _x_serialize,
    "kong.nginx.get_var": _x_get_var,
    "kong.nginx.get_tls1_version_str": _x_tls1_version,
    "kong.nginx.get_ctx": _x_get_ctx,
    "kong.nginx.set_ctx": _x_set_ctx,
    "kong.ctx.shared.get": _x_shared_get,
    "kong.ctx.shared.set": _x_shared_set,
    "kong.request.get_headers": _x_req_headers,
    "kong.request.get_header": _x_req_header,
    "kong.request.get_uri_captures": _x_uri_captures,
    "kong.response.get_status": _x_resp_status,
    "kong.response.get_headers": _x_resp_headers,
    "kong.response.get_header": _x_resp_header,
    "kong.response.get_source": _x_resp_source,
    "kong.nginx.req_start_time": _x_req_start_time,
}
_EXPOSED_NAMESPACES = {"kong.ctx", "kong.ctx.shared", "kong.ctx.plugin", "kong.nginx"}


class NotFound(Exception):
    """get_field returned nil."""


def resolve(rq: RequestContext, cmd: str) -> Callable[..., Any]:
    """mp_rpc.lua get_field/index_table over exposed_api (whose ``kong`` is the PDK)."""
    if cmd in EXPOSED:
        return EXPOSED[cmd]
    path = ".".join(re.findall(r"\w+", cmd))
    if path in EXPOSED:
        return EXPOSED[path]
    if path in FUNCTIONS:
        return FUNCTIONS[path]
    if path in NAMESPACES or path in _EXPOSED_NAMESPACES:
        return _not_callable("table")
    if path in ("kong.version", "kong.version_num"):
        return _not_callable("string" if path == "kong.version" else "number")
    for prefix, store in (("kong.ctx.shared.", rq.shared), ("kong.ctx.plugin.", rq.plugin_ctx)):
        if path.startswith(prefix):
            value = store.get(path[len(prefix):].split(".")[0])
            if value is not None:
                return _not_callable(lua_type(value))
    raise NotFound(cmd)


def _not_callable(kind: str) -> Callable[..., Any]:
    def fn(*_: Any) -> Any:
        raise LuaError("attempt to call local 'method' (a %s value)" % kind)

    return fn


def fix_mmap(t: Any) -> Any:
    """mp_rpc.lua fix_mmap: values -> arrays, ``true`` -> [], empty -> empty MAP."""
    if not isinstance(t, (dict, list)):
        raise LuaError("bad argument #1 to 'pairs' (table expected, got %s)" % lua_type(t))
    items = t.items() if isinstance(t, dict) else ((i + 1, v) for i, v in enumerate(t) if v is not None)
    out: dict = {}
    for k, v in items:
        if v is True:
            out[k] = EMPTY_ARRAY
        elif isinstance(v, (str, bytes)):
            out[k] = [v]
        else:
            out[k] = v
    return out if out else EMPTY_MAP


def fix_raw(v: Any) -> Any:
    return RawBinaryHook(v)


MUST_FIX: dict[str, Callable[[Any], Any]] = {
    "kong.request.get_query": fix_mmap,
    "kong.request.get_headers": fix_mmap,
    "kong.response.get_headers": fix_mmap,
    "kong.service.response.get_headers": fix_mmap,
    "kong.request.get_raw_body": fix_raw,
    "kong.response.get_raw_body": fix_raw,
    "kong.service.response.get_raw_body": fix_raw,
}

BY_PDK_METHOD = {
    "kong.client.get_credential": "plugin.StepCredential",
    "kong.client.load_consumer": "plugin.StepConsumer",
    "kong.client.get_consumer": "plugin.StepConsumer",
    "kong.client.authenticate": "plugin.StepCredential",
    "kong.node.get_memory_stats": "plugin.StepMemoryStats",
    "kong.router.get_route": "plugin.StepRoute",
    "kong.router.get_service": "plugin.StepService",
    "kong.request.get_query": "plugin.StepMultiMap",
    "kong.request.get_headers": "plugin.StepMultiMap",
    "kong.response.get_headers": "plugin.StepMultiMap",
    "kong.service.response.get_headers": "plugin.StepMultiMap",
}


@lru_cache(maxsize=None)
def _max_args(fn: Callable[..., Any]) -> int | None:
    """Lua drops surplus arguments; Python would raise, so cap them."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return len(params)


def _invoke(fn: Callable[..., Any], rq: RequestContext, args: list) -> Any:
    cap = _max_args(fn)
    try:
        return fn(rq, *(args if cap is None else args[:cap]))
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as e:
        # Lua would raise on such bad arguments; never let a Python error escape the bridge
        raise LuaError("bad argument to '%s' (%s: %s)" % (getattr(fn, "__name__", "?"), type(e).__name__, e)) from None


def call_pdk_method(rq: RequestContext, cmd: Any, args: Any) -> Any:
    """mp_rpc.lua call_pdk_method (returns ONE value: ``ret = method(unpack(args))``)."""
    try:
        method = resolve(rq, text(cmd) if isinstance(cmd, (str, bytes)) else "")
    except NotFound:
        rq.runtime.log_for(rq, "error", "could not find pdk method: %s" % text(cmd), src="mp_rpc.lua:144")
        return None
    if isinstance(args, (list, tuple)):
        call_args = list(args)
        while call_args and call_args[-1] is None:  # unpack() stops at the border
            call_args.pop()
        ret = first(_invoke(method, rq, call_args))
    elif isinstance(args, dict):
        ret = first(_invoke(method, rq, [args[i] for i in range(1, len(args) + 1) if i in args]))
    else:
        ret = first(_invoke(method, rq, [args]))
    fix = MUST_FIX.get(text(cmd))
    if fix is not None:
        ret = fix(ret)
    return ret


def get_step_method(method_name: Any, pdk_res: Any) -> str:
    """mp_rpc.lua get_step_method (pdk_err is always nil in 3.6.1)."""
    if isinstance(pdk_res, dict) and pdk_res.get("_method"):
        return pdk_res["_method"]
    return BY_PDK_METHOD.get(text(method_name) if isinstance(method_name, (str, bytes)) else "", "plugin.Step")


__all__ = ["call_pdk_method", "get_step_method", "EXPOSED", "KONG_VERSION"]
