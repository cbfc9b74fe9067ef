"""Entity and plugin schemas for the declarative file (declarative_config.lua).

Why: the DB-less file is validated against a schema Kong *generates*: every
core entity plus the DAO entities of loaded plugins becomes a top-level array;
each entity that references a parent can also be nested under it
(``nest_foreign_relationships``); plugins get their config record from the
plugin's own schema (``plugin_loader.load_subschema`` + ``Entity.new_subschema``
which makes nested records required).  Data: /work/shared/kong/schemas-3.6.1.json.
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any

from .plugin_info import ExternalPluginInfo
from .schema import make_records_required, normalize_fields

# a copy of /work/shared/kong/schemas-3.6.1.json (converted from Kong 3.6.1's Lua schemas)
SCHEMAS_PATH = os.path.join(os.path.dirname(__file__), "schemas-3.6.1.json")

# constants.CORE_ENTITIES minus "tags"; only the first group is emulated
EMULATED_ENTITIES = ("services", "routes", "consumers", "plugins")
OTHER_CORE_ENTITIES = ("workspaces", "certificates", "snis", "upstreams", "targets",
                       "ca_certificates", "clustering_data_planes", "parameters", "vaults",
                       "key_sets", "keys", "filter_chains")
# DAO entities of bundled plugins (kong/plugins/<name>/daos.lua)
PLUGIN_DAOS = {"key-auth": "keyauth_credentials", "acl": "acls"}


@dataclass
class EntityDef:
    """One entity schema plus its declarative nesting relations."""

    name: str
    fields: list[dict]
    entity_checks: list = field(default_factory=list)
    endpoint_key: str | None = None
    cache_key: list[str] | None = None
    foreign: dict[str, str] = field(default_factory=dict)  # field -> referenced entity
    children: dict[str, str] = field(default_factory=dict)  # child entity -> its fk field
    shorthand: list[dict] = field(default_factory=list)

    def field(self, name: str) -> dict | None:
        return next((f for f in self.fields if f["name"] == name), None)


@dataclass
class PluginSchema:
    """A plugin's full entity fields (plugins entity merged with its subschema)."""

    name: str
    fields: list[dict]
    entity_checks: list
    emulated_schema: bool  # False: bundled plugin without schema data (config accepted as is)
    priority: int | None = None
    phases: list[str] = field(default_factory=list)
    external: ExternalPluginInfo | None = None

    def config_fields(self) -> list[dict]:
        f = next((f for f in self.fields if f["name"] == "config"), None)
        return (f or {}).get("fields") or []

    def no_scope(self, key: str) -> bool:
        """handler.no_consumer / no_route / no_service (field ``eq = null``)."""
        f = next((f for f in self.fields if f["name"] == key), None)
        return bool(f) and "eq" in f and f["eq"] is None


def load_schema_data() -> dict:
    with open(SCHEMAS_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def build_entities(data: dict, loaded_plugins: list[str]) -> dict[str, EntityDef]:
    """Known entities in dependency order, with foreign/children relations."""
    raw = data["entities"]
    names = list(EMULATED_ENTITIES) + [PLUGIN_DAOS[p] for p in ("key-auth", "acl") if p in loaded_plugins]
    defs: dict[str, EntityDef] = {}
    for name in names:
        r = raw[name]
        fields = make_records_required(r["fields"])
        d = EntityDef(
            name=name, fields=fields, entity_checks=r.get("entity_checks") or [],
            endpoint_key=r.get("endpoint_key"), cache_key=r.get("cache_key"),
            shorthand=r.get("shorthand_fields") or [],
        )
        for f in fields:
            if f.get("type") == "foreign":
                d.foreign[f["name"]] = f["reference"]
        defs[name] = d
    for name, d in defs.items():
        for fk, ref in d.foreign.items():
            if ref in defs:
                defs[ref].children[name] = fk
    return defs


def _merge_plugin_fields(base: list[dict], specific: list[dict]) -> list[dict]:
    by_name = {f["name"]: f for f in specific}
    out = []
    for f in base:
        out.append(copy.deepcopy(by_name.pop(f["name"], f)))
    out.extend(copy.deepcopy(list(by_name.values())))
    return out


def build_plugin_schemas(data: dict, loaded_plugins: list[str],
                         externals: dict[str, ExternalPluginInfo]) -> dict[str, PluginSchema]:
    """plugin_loader.load_subschema for each loaded plugin that has a schema."""
    from .bundled.registry import SCHEMAS

    base = data["entities"]["plugins"]["fields"]
    bundled = {**SCHEMAS, **data["plugins"]}
    out: dict[str, PluginSchema] = {}
    for name in loaded_plugins:
        if name in bundled:
            b = bundled[name]
            specific = make_records_required([f for f in b["fields"]])
            out[name] = PluginSchema(
                name=name, fields=_merge_plugin_fields(base, specific),
                entity_checks=b.get("entity_checks") or [], emulated_schema=True,
                priority=b.get("handler_PRIORITY"), phases=list(b.get("handler_phases") or []),
            )
        elif name in externals:
            info = externals[name]
            specific = make_records_required(normalize_fields((info.schema or {}).get("fields") or []))
            out[name] = PluginSchema(
                name=name, fields=_merge_plugin_fields(base, specific),
                entity_checks=(info.schema or {}).get("entity_checks") or [],
                emulated_schema=True, priority=int(info.priority), phases=list(info.phases),
                external=info,
            )
        else:
            # a Kong-bundled plugin without schema data: config accepted as given
            loose = [dict(f) for f in base]
            for f in loose:
                if f["name"] == "config":
                    f["type"] = "any"
            out[name] = PluginSchema(name=name, fields=loose, entity_checks=[], emulated_schema=False)
    return out
