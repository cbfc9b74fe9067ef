"""``kong.log.*`` (kong/pdk/log.lua): level functions, ``serialize``,
``set_serialize_value``.

Why: Python plugins log through Kong (lines land in Kong's error log with the
plugin namespace) and the log phase of external plugins receives
``kong.log.serialize()`` as a JSON string whose structure must be 3.6.1's.
"""
from __future__ import annotations

import time
from typing import Any

from . import phases as PH
from .luatypes import NULL, LuaError, lua_tostring
from .pdk_base import pdk, text, want_string
from .pdk_response import response_source
from .request_ctx import RequestContext

LEVELS = {"debug": "debug", "info": "info", "notice": "notice", "warn": "warn", "err": "error",
          "crit": "crit", "alert": "alert", "emerg": "emerg"}


def _make_level(name: str, level: str):
    def log_fn(rq: RequestContext, *args: Any) -> Any:
        msg = "".join(lua_tostring(a) for a in args)
        rq.runtime.log_for(rq, level, msg, src="mp_rpc.lua:162")
        return None

    log_fn.__name__ = "log_" + name
    return log_fn


for _name, _level in LEVELS.items():
    pdk("kong.log." + _name)(_make_level(_name, _level))


def default_serialize_values() -> list[dict]:
    return [
        {"key": "request.headers.authorization", "value": "REDACTED", "mode": "replace"},
        {"key": "request.headers.proxy-authorization", "value": "REDACTED", "mode": "replace"},
    ]


@pdk("kong.log.set_serialize_value")
def set_serialize_value(rq: RequestContext, key: Any = None, value: Any = None, options: Any = None) -> Any:
    PH.check(rq.phase, PH.WITH_CTX)
    options = options if isinstance(options, dict) else {}
    mode = options.get("mode", "set")
    want_string(key, "key must be a string")
    if mode not in ("set", "add", "replace"):
        raise LuaError("mode must be 'set', 'add' or 'replace'")
    values = rq.ctx.setdefault("serialize_values", default_serialize_values())
    values.append({"key": text(key), "value": value, "mode": mode})


def _edit_result(ctx: dict, root: dict) -> dict:
    """log.lua edit_result."""
    for item in ctx.get("serialize_values") or default_serialize_values():
        key, mode, new_value = item["key"], item["mode"], item["value"]
        subkeys = key.split(".")
        node: Any = root
        for sub in subkeys[:-1]:
            if node.get(sub) is None:
                if mode in ("set", "add"):
                    node[sub] = {}
                else:
                    node = None
                    break
            if not isinstance(node[sub], dict):
                raise LuaError("The key '%s' could not be used as a serialize value. Subkey '%s' is not a table. "
                               "It's %s" % (key, sub, lua_tostring(node[sub])))
            node = node[sub]
        if isinstance(node, dict):
            last = subkeys[-1]
            existing = node.get(last)
            if mode == "set" or (mode == "add" and existing is None) or (mode == "replace" and existing is not None):
                node[last] = new_value
    return root


def clone(v: Any) -> Any:
    """cycle_aware_deep_copy of an entity (plain tables of scalars): copy.deepcopy's result, 20x faster."""
    if isinstance(v, dict):
        return type(v)((k, clone(x)) for k, x in v.items())
    if isinstance(v, list):
        return type(v)(clone(x) for x in v)
    return v


def _to_decimal(v: Any) -> Any:
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


def build_serialize(rq: RequestContext, ctx: dict | None = None, now: float | None = None) -> dict:
    """log.lua serialize() for the http subsystem (called in the log phase).

    `ctx` and `now`: ngx.ctx and the clock as they were in the log phase, for a
    log timer's snapshot built after it (see request_ctx.LogSnapshot).
    """
    ctx = rq.ctx if ctx is None else ctx
    var = rq.get_var
    request_uri = var("request_uri") or ""
    host_port = ctx.get("host_port") or var("server_port")
    upstream_uri = rq.var.get("upstream_uri") or ""
    if upstream_uri and "?" not in upstream_uri:
        if request_uri.endswith("?"):
            upstream_uri += "?"
        elif rq.current_args():
            upstream_uri += "?" + rq.current_args()
    credential = ctx.get("authenticated_credential")
    authenticated_entity = None
    if credential is not None:
        authenticated_entity = {"id": credential.get("id"), "consumer_id": credential.get("consumer_id")}
    latencies = {
        "kong": (ctx.get("KONG_PROXY_LATENCY") or ctx.get("KONG_RESPONSE_LATENCY") or 0)
        + (ctx.get("KONG_RECEIVE_TIME") or 0),
        "proxy": ctx.get("KONG_WAITING_TIME") if ctx.get("KONG_WAITING_TIME") is not None else -1,
        "request": int(((time.time() if now is None else now) - rq.start_time) * 1000),
    }
    root = {
        "request": {
            "id": rq.request_id,
            "uri": request_uri,
            "url": "%s://%s:%s%s" % (var("scheme"), var("host"), host_port, request_uri),
            "querystring": rq.uri_args(),
            "method": rq.method,
            "headers": rq.req_headers.to_lua(),
            "size": _to_decimal(var("request_length")),
            "tls": None,
        },
        "upstream_uri": upstream_uri,
        "upstream_status": rq.upstream_status or "",
        "response": {
            "status": rq.resp_status,
            "headers": rq.resp_headers.to_lua(),
            "size": _to_decimal(rq.bytes_sent),
        },
        "latencies": latencies,
        "tries": (ctx.get("balancer_data") or {}).get("tries"),
        "authenticated_entity": authenticated_entity,
        "route": clone(ctx.get("route")),
        "service": clone(ctx.get("service")),
        "consumer": clone(ctx.get("authenticated_consumer")),
        "client_ip": rq.remote_addr,
        "started_at": ctx.get("KONG_PROCESSING_START") or int(rq.start_time * 1000),
        "source": response_source(ctx),
    }
    return _edit_result(ctx, root)


@pdk("kong.log.serialize")
def serialize(rq: RequestContext, options: Any = None) -> Any:
    PH.check(rq.phase, PH.LOG)
    return build_serialize(rq)


__all__ = ["build_serialize", "NULL"]
