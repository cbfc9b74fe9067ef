"""The plugins iterator (kong/runloop/plugins_iterator.lua).

Why: which plugin configuration applies to a request, in which order, and
what config table an external plugin receives in StartInstance all come from
here: ``get_plugin_config`` adds route_id/service_id/consumer_id/
plugin_instance_name/__plugin_id/__key__/__seq__; ``lookup_cfg`` implements the
route+service+consumer > ... > global precedence; ``get_next_and_collect``
interleaves collection of downstream handlers with the access phase, so a
consumer authenticated by a higher-priority plugin selects consumer-scoped
configs of lower-priority ones, and a ``response`` handler turns on
``ctx.buffered_proxying``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import constants as C

SUBSYSTEM_HTTP_PROTOCOLS = {"http", "https", "grpc", "grpcs", "ws", "wss"}


@dataclass
class PluginHandler:
    """A loaded plugin (``kong.db.plugins:get_handlers()`` entry)."""

    name: str
    priority: int
    phases: set[str]
    kind: str  # "bundled" | "external" | "inactive"
    no_consumer: bool = False
    no_route: bool = False
    no_service: bool = False
    run: Callable[..., Any] | None = None  # run(phase, rq, cfg)
    server: str | None = None


def sort_handlers(handlers: list[PluginHandler]) -> list[PluginHandler]:
    """db/dao/plugins.lua sort_by_handler_priority (ties of non-zero priorities: name desc)."""
    import functools

    def cmp(a: PluginHandler, b: PluginHandler) -> int:
        pa, pb = a.priority or 0, b.priority or 0
        if pa == pb and not (pa == 0 or pb == 0):
            return -1 if a.name > b.name else (1 if a.name < b.name else 0)
        return -1 if pa > pb else (1 if pa < pb else 0)

    return sorted(handlers, key=functools.cmp_to_key(cmp))


def compound_key(route_id: str | None, service_id: str | None, consumer_id: str | None) -> str:
    """plugins_iterator.lua build_compound_key."""
    return "%s:%s:%s" % (route_id or "", service_id or "", consumer_id or "")


def lookup_cfg(combos: dict[str, dict], route_id: str | None, service_id: str | None,
               consumer_id: str | None) -> dict | None:
    """plugins_iterator.lua lookup_cfg."""
    if route_id and service_id and consumer_id:
        key = compound_key(route_id, service_id, consumer_id)
        if key in combos:
            return combos[key]
    if route_id and consumer_id and compound_key(route_id, None, consumer_id) in combos:
        return combos[compound_key(route_id, None, consumer_id)]
    if service_id and consumer_id and compound_key(None, service_id, consumer_id) in combos:
        return combos[compound_key(None, service_id, consumer_id)]
    if route_id and service_id and compound_key(route_id, service_id, None) in combos:
        return combos[compound_key(route_id, service_id, None)]
    if consumer_id and compound_key(None, None, consumer_id) in combos:
        return combos[compound_key(None, None, consumer_id)]
    if route_id and compound_key(route_id, None, None) in combos:
        return combos[compound_key(route_id, None, None)]
    if service_id and compound_key(None, service_id, None) in combos:
        return combos[compound_key(None, service_id, None)]
    return combos.get(compound_key(None, None, None))


@dataclass
class PluginsIterator:
    """``PluginsIterator.new()`` result for the default workspace."""

    loaded: list[PluginHandler]
    combos: dict[str, dict[str, dict]] = field(default_factory=dict)
    globals: dict[str, list[tuple[PluginHandler, dict]]] = field(default_factory=dict)
    configured: list[PluginHandler] = field(default_factory=list)

    @classmethod
    def build(cls, handlers: list[PluginHandler], plugin_entities: list[dict],
              next_seq: Callable[[], int]) -> "PluginsIterator":
        loaded = sort_handlers(handlers)
        by_name = {h.name: h for h in loaded}
        it = cls(loaded=loaded)
        global_cfgs: dict[str, dict] = {}
        for plugin in plugin_entities:
            name = plugin["name"]
            if name not in by_name:
                raise ValueError("%s plugin is in use but not enabled" % name)
            if not plugin.get("enabled", True):
                continue
            if not any(p in SUBSYSTEM_HTTP_PROTOCOLS for p in plugin.get("protocols") or []):
                continue
            cfg = get_plugin_config(plugin, name, next_seq)
            route_id = (plugin.get("route") or {}).get("id")
            service_id = (plugin.get("service") or {}).get("id")
            consumer_id = (plugin.get("consumer") or {}).get("id")
            if not (route_id or service_id or consumer_id):
                global_cfgs[name] = cfg
            it.combos.setdefault(name, {})[compound_key(route_id, service_id, consumer_id)] = cfg
        it.configured = [h for h in loaded if h.name in it.combos]
        for phase in C.NON_COLLECTING_PHASES:
            it.globals[phase] = [(h, global_cfgs[h.name]) for h in loaded
                                 if h.name in global_cfgs and phase in h.phases]
        return it

    def collecting(self, ctx: dict) -> Iterator[tuple[PluginHandler, dict]]:
        """get_collecting_iterator/get_next_and_collect for the access phase."""
        collected: dict[str, list[tuple[PluginHandler, dict]]] = {p: [] for p in C.DOWNSTREAM_PHASES}
        ctx["plugins"] = collected
        for handler in self.configured:
            route = ctx.get("route") if not handler.no_route else None
            service = ctx.get("service") if not handler.no_service else None
            consumer = ctx.get("authenticated_consumer") if not handler.no_consumer else None
            cfg = lookup_cfg(self.combos[handler.name],
                             (route or {}).get("id"), (service or {}).get("id"), (consumer or {}).get("id"))
            if cfg is None:
                continue
            for phase in C.DOWNSTREAM_PHASES:
                if phase in handler.phases:
                    collected[phase].append((handler, cfg))
                    if phase == "response" and not ctx.get("buffered_proxying"):
                        ctx["buffered_proxying"] = True
            if "access" in handler.phases:
                yield handler, cfg

    def collected(self, ctx: dict, phase: str) -> list[tuple[PluginHandler, dict]]:
        """get_collected_iterator: collected handlers, or the global ones without a route."""
        plugins = ctx.get("plugins")
        if plugins is not None:
            return list(plugins.get(phase) or [])
        return list(self.globals.get(phase) or [])

    def global_phase(self, phase: str) -> list[tuple[PluginHandler, dict]]:
        return list(self.globals.get(phase) or [])


def get_plugin_config(plugin: dict, name: str, next_seq: Callable[[], int]) -> dict:
    """plugins_iterator.lua get_plugin_config (the table StartInstance JSON-encodes)."""
    cfg = copy.deepcopy(plugin.get("config") or {})
    route_id = (plugin.get("route") or {}).get("id")
    service_id = (plugin.get("service") or {}).get("id")
    consumer_id = (plugin.get("consumer") or {}).get("id")
    for key, value in (("route_id", route_id), ("service_id", service_id), ("consumer_id", consumer_id),
                       ("plugin_instance_name", plugin.get("instance_name")), ("__plugin_id", plugin["id"])):
        if value is not None:
            cfg[key] = value
        else:
            cfg.pop(key, None)
    ws_id = plugin.get("ws_id") or C.DEFAULT_WORKSPACE_ID
    # kong.db.plugins:cache_key(name, route_id, service_id, consumer_id, nil, ws_id) (dao/init.lua)
    cfg["__key__"] = "plugins:%s:%s:%s:%s::%s" % (name, route_id or "", service_id or "", consumer_id or "", ws_id)
    cfg["__seq__"] = next_seq()  # ngx.shared.kong:incr("plugins_iterator:__seq__", 1, 0, 0)
    return cfg
