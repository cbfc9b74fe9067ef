"""Ids, defaults, references and flattening of a valid declarative file.

Why: plugin instance keys, ``__plugin_id`` and ``X-Consumer-ID`` values are the
entity ids Kong computes, so ids must be byte-identical to Kong's: entities
with a cache key (or a unique endpoint key) get a UUIDv5 computed by
``generate_ids``/``build_cache_key``/``generate_uuid`` in
kong/db/schema/others/declarative_config.lua; the rest get ``utils.uuid()``
(v4).  References by name or id are resolved like ``validate_references`` and
``flatten`` do; dangling ones produce Kong's "invalid reference" errors.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

from . import constants as C
from .dc_schema import EntityDef, PluginSchema
from .dc_validate import expand_service_url
from .luatypes import NULL
from .schema import process_auto_fields, strip_nulls

_NS_CACHE: dict[str, uuid.UUID] = {}


def generate_uuid(schema_name: str, key: str) -> str:
    """declarative_config.lua generate_uuid: v5(v5(_entities, schema.name), key)."""
    ns = _NS_CACHE.get(schema_name)
    if ns is None:
        ns = uuid.uuid5(uuid.UUID(C.ENTITIES_UUID_NAMESPACE), schema_name)
        _NS_CACHE[schema_name] = ns
    return str(uuid.uuid5(ns, key))


def build_cache_key(entity: str, item: dict, edef: EntityDef, parent_fk: dict | None,
                    child_key: str | None) -> str | None:
    """declarative_config.lua build_cache_key (uses the raw, unresolved values)."""
    ck = [entity, "*"]  # ws_id_for(item) is "*" when the item has no ws_id
    for k in edef.cache_key or []:
        f = edef.field(k) or {}
        v = item.get(k)
        if f.get("auto"):
            return None
        if isinstance(v, str):
            ck.append(v)
        elif k not in item or v is None:
            if k == child_key:
                if parent_fk and parent_fk.get("id") and len(parent_fk) == 1:
                    ck.append(parent_fk["id"])
                else:
                    return None
            elif f.get("required"):
                return None
            else:
                ck.append("")
    return ":".join(ck)


def _key_for_uuid(entity: str, item: dict, edef: EntityDef, parent_fk: dict | None,
                  child_key: str | None) -> str | None:
    """get_key_for_uuid_gen (single ``id`` primary key entities only)."""
    if item.get("id") is not None:
        return None
    if edef.cache_key:
        return build_cache_key(entity, item, edef, parent_fk, child_key)
    ek = edef.endpoint_key
    if ek and item.get(ek) is not None and item.get(ek) is not NULL:
        key = item[ek]
        f = edef.field(ek) or {}
        if not f.get("unique"):
            key = "%s:%s" % (key, "*")
        return str(key)
    return None


class Flattener:
    """Runs generate_ids, process_auto_fields, validate_references and flatten."""

    def __init__(self, entities: dict[str, EntityDef], plugins: dict[str, PluginSchema]) -> None:
        self.entities = entities
        self.plugins = plugins
        self.now = int(time.time())
        self.out: dict[str, dict[str, dict]] = {name: {} for name in entities}
        self.errors: dict = {}

    # -- generate_ids ---------------------------------------------------
    def generate_ids(self, node: dict, parent: str | None = None) -> None:
        for entity, edef in self.entities.items():
            items = node.get(entity)
            if not isinstance(items, list):
                continue
            child_key = self.entities[parent].children.get(entity) if parent else None
            if parent is not None and child_key is None:
                continue
            parent_fk = {"id": node.get("id")} if parent else None
            for item in items:
                key = _key_for_uuid(entity, item, edef, parent_fk, child_key)
                if key is not None:
                    item["id"] = generate_uuid(entity, key)
                self.generate_ids(item, entity)

    # -- process_auto_fields + references --------------------------------
    def _fill(self, entity: str, item: dict) -> dict:
        edef = self.entities[entity]
        data = {k: v for k, v in item.items()
                if k not in edef.children and k not in ("_comment", "_ignore")}
        if entity == "services" and "url" in data:
            expand_service_url(data)
        fields = edef.fields
        if entity == "plugins":
            plugin = self.plugins[data["name"]]
            fields = plugin.fields
        filled = process_auto_fields(fields, data)
        if entity == "plugins" and not self.plugins[data["name"]].emulated_schema:
            filled["config"] = data.get("config") or {}
        if filled.get("id") in (None, NULL):
            filled["id"] = str(uuid.uuid4())
        for ts in ("created_at", "updated_at"):
            if edef.field(ts) is not None and filled.get(ts) in (None, NULL):
                filled[ts] = self.now
        if entity == "keyauth_credentials" and filled.get("key") in (None, NULL):
            filled["key"] = uuid.uuid4().hex  # utils.random_string()
        return filled

    def collect(self, node: dict, parent: str | None = None, parent_id: str | None = None,
                path: tuple = ()) -> None:
        for entity in self.entities:
            items = node.get(entity)
            if not isinstance(items, list):
                continue
            child_key = self.entities[parent].children.get(entity) if parent else None
            if parent is not None and child_key is None:
                continue
            for i, item in enumerate(items):
                filled = self._fill(entity, item)
                if child_key:
                    filled[child_key] = {"id": parent_id}
                self.collect(item, entity, filled["id"], path + (entity, i + 1))
                self._register(entity, filled, i + 1)

    def _register(self, entity: str, filled: dict, index: int) -> None:
        bucket = self.out[entity]
        edef = self.entities[entity]
        ek = edef.endpoint_key
        key = filled.get(ek) if ek and (edef.field(ek) or {}).get("unique") else None
        if filled["id"] in bucket:
            self._err(entity, index, "uniqueness violation: '%s' entity with primary key set to '%s' "
                      "already declared" % (entity, filled["id"]))
            return
        if key not in (None, NULL):
            for other in bucket.values():
                if other.get(ek) == key:
                    self._err(entity, key, "uniqueness violation: '%s' entity with %s set to '%s' "
                              "already declared" % (entity, ek, key))
                    return
        filled["_at"] = key if key not in (None, NULL) else index
        filled["ws_id"] = C.DEFAULT_WORKSPACE_ID
        bucket[filled["id"]] = filled

    def _err(self, entity: str, at: Any, msg: Any) -> None:
        self.errors.setdefault(entity, {})
        if isinstance(msg, str) and at in self.errors[entity] and isinstance(self.errors[entity][at], list):
            self.errors[entity][at].append(msg)
        else:
            self.errors[entity][at] = msg

    def _find(self, ref: str, value: Any) -> dict | None:
        bucket = self.out.get(ref, {})
        if isinstance(value, dict):
            value = value.get("id")
        if value in bucket:
            return bucket[value]
        ek = self.entities[ref].endpoint_key if ref in self.entities else None
        if ek:
            for item in bucket.values():
                if item.get(ek) == value:
                    return item
        return None

    def resolve_references(self) -> None:
        for entity, bucket in self.out.items():
            edef = self.entities[entity]
            for item in bucket.values():
                for fk, ref in edef.foreign.items():
                    v = item.get(fk)
                    if v is None or v is NULL or ref not in self.entities:
                        continue
                    found = self._find(ref, v)
                    if found is None:
                        shown = v if isinstance(v, str) else "{\"id\":\"%s\"}" % v.get("id")
                        msg = "invalid reference '%s: %s' (no such entry in '%s')" % (fk, shown, ref)
                        self.errors.setdefault(entity, {}).setdefault(item["_at"], []).append(msg)
                    else:
                        item[fk] = {"id": found["id"]}

    def result(self) -> dict[str, dict[str, dict]]:
        for bucket in self.out.values():
            for item in bucket.values():
                item.pop("_at", None)
        return {name: {k: strip_nulls(v) for k, v in bucket.items()} for name, bucket in self.out.items()}
