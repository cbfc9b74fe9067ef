"""``kong.client``, ``kong.router``, ``kong.node``, ``kong.plugin``, ``kong.ip``,
``kong.table``, ``kong.nginx`` (kong/pdk/client.lua, router.lua, node.lua,
plugin.lua, ip.lua, table.lua, nginx.lua).

Why: consumer/credential/route tables travel to Python plugins via the
typed Step methods (StepConsumer, StepCredential, StepRoute...) and must be
the entity tables Kong keeps in ``ngx.ctx`` (DB rows without nulls).
"""
from __future__ import annotations

import re
from typing import Any

from . import phases as PH
from .luatypes import LuaError
from .pdk_base import pdk, text
from .request_ctx import RequestContext

_UUID_RX = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@pdk("kong.client.get_ip")
def get_ip(rq: RequestContext) -> Any:
    PH.check_not(rq.phase, PH.phases("init_worker"))
    return rq.get_var("realip_remote_addr") or rq.get_var("remote_addr")


@pdk("kong.client.get_forwarded_ip")
def get_forwarded_ip(rq: RequestContext) -> Any:
    PH.check_not(rq.phase, PH.phases("init_worker"))
    return rq.get_var("remote_addr")


@pdk("kong.client.get_port")
def get_port(rq: RequestContext) -> Any:
    PH.check_not(rq.phase, PH.phases("init_worker"))
    return int(rq.get_var("realip_remote_port") or rq.get_var("remote_port"))


@pdk("kong.client.get_forwarded_port")
def get_forwarded_port(rq: RequestContext) -> Any:
    PH.check_not(rq.phase, PH.phases("init_worker"))
    return int(rq.get_var("remote_port"))


@pdk("kong.client.get_credential")
def get_credential(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.AUTH_AND_LATER)
    return rq.ctx.get("authenticated_credential")


@pdk("kong.client.get_consumer")
def get_consumer(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.AUTH_AND_LATER)
    return rq.ctx.get("authenticated_consumer")


@pdk("kong.client.load_consumer")
def load_consumer(rq: RequestContext, consumer_id: Any = None, search_by_username: Any = None) -> Any:
    PH.check(rq.phase, PH.AUTH_AND_LATER)
    if not isinstance(consumer_id, (str, bytes)) or not consumer_id:
        raise LuaError("consumer_id must be a string")
    cid = text(consumer_id)
    is_uuid = bool(_UUID_RX.match(cid))
    if not is_uuid and not search_by_username:
        raise LuaError("cannot load a consumer with an id that is not a uuid")
    consumers = rq.runtime.consumers_view()
    if is_uuid and cid in consumers:
        return consumers[cid]
    if search_by_username:
        for c in consumers.values():
            if c.get("username") == cid:
                return c
    return None


@pdk("kong.client.authenticate")
def authenticate(rq: RequestContext, consumer: Any = None, credential: Any = None) -> Any:
    PH.check(rq.phase, PH.ACCESS)
    if consumer is not None and not isinstance(consumer, (dict, list)):
        raise LuaError("consumer must be a table or nil")
    if credential is not None and not isinstance(credential, (dict, list)):
        raise LuaError("credential must be a table or nil")
    if consumer is None and credential is None:
        raise LuaError("either credential or consumer must be provided")
    rq.ctx["authenticated_consumer"] = consumer if isinstance(consumer, dict) else None
    rq.ctx["authenticated_credential"] = credential if isinstance(credential, dict) else None


@pdk("kong.client.get_protocol")
def get_protocol(rq: RequestContext, allow_terminated: Any = None) -> Any:
    PH.check(rq.phase, PH.AUTH_AND_LATER)
    route = rq.ctx.get("route")
    if not route:
        return None
    protocols = route.get("protocols") or []
    if len(protocols) == 1:
        return protocols[0]
    rq.need_request()
    return "https" if rq.scheme == "https" else "http"


@pdk("kong.router.get_route")
def get_route(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.ROUTER)
    return rq.ctx.get("route")


@pdk("kong.router.get_service")
def get_service(rq: RequestContext) -> Any:
    PH.check(rq.phase, PH.ROUTER)
    return rq.ctx.get("service")


@pdk("kong.node.get_id")
def get_node_id(rq: RequestContext) -> Any:
    return rq.runtime.node_id


@pdk("kong.node.get_hostname")
def get_hostname(rq: RequestContext) -> Any:
    return rq.runtime.hostname


@pdk("kong.node.get_memory_stats")
def get_memory_stats(rq: RequestContext, unit: Any = None, scale: Any = None) -> Any:
    return {
        "lua_shared_dicts": {"kong": {"allocated_slabs": 12288, "capacity": 5242880}},
        "workers_lua_vms": [{"http_allocated_gc": 1024 * 1024, "pid": 0}],
    }


@pdk("kong.plugin.get_id")
def get_plugin_id(rq: RequestContext, *_: Any) -> Any:
    # kong/pdk/plugin.lua: _plugin.get_id(self) returns ngx.ctx.plugin_id
    return rq.ctx.get("plugin_id")


@pdk("kong.ip.is_trusted")
def is_trusted(rq: RequestContext, ip: Any = None) -> Any:
    # kong/pdk/ip.lua: trusted_ips = NONE -> always false
    return rq.runtime.is_trusted(text(ip) if isinstance(ip, (str, bytes)) else None)


@pdk("kong.table.new")
def table_new(rq: RequestContext, narr: Any = None, nrec: Any = None) -> Any:
    return {}


@pdk("kong.table.clear")
def table_clear(rq: RequestContext, tab: Any = None) -> Any:
    return None


@pdk("kong.nginx.get_subsystem")
def get_subsystem(rq: RequestContext) -> Any:
    return "http"


@pdk("kong.nginx.get_statistics")
def get_statistics(rq: RequestContext) -> Any:
    stats = rq.runtime.connection_stats()
    return stats


@pdk("kong.vault.is_reference")
def vault_is_reference(rq: RequestContext, value: Any = None) -> Any:
    return isinstance(value, str) and value.startswith("{vault://") and value.endswith("}")

