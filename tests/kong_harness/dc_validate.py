"""Validation of the declarative file tree (declarative_config.lua + schema/init.lua).

Why: Kong refuses to start on an invalid DB-less file and prints the nested
error table with ``pretty_print_error`` (kong/db/declarative/init.lua).  This
module validates the raw YAML tree - top-level keys, every entity at its
nesting position, plugin configs against their schema - and returns Kong's
error table shape: ``{services = {[1] = {routes = {[1] = {strip_path = "..."}}}}}``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .dc_schema import OTHER_CORE_ENTITIES, EntityDef, PluginSchema
from .luatypes import NULL
from .schema import _UUID_RX, process_auto_fields, validate_field, validate_record

FORMAT_VERSIONS = ("1.1", "2.1", "3.0")
_EXTRA = ("_comment", "_ignore")


def expand_service_url(item: dict) -> Any:
    """services.lua shorthand ``url`` -> protocol/host/port/path (socket.url parse)."""
    url = item.get("url")
    if not isinstance(url, str):
        return "expected a string"
    parsed = urlsplit(url)
    try:
        port = parsed.port
    except ValueError:
        port = None
    prot = "http" if port == 80 else "https" if port == 443 else None
    protocol = parsed.scheme or prot or "http"
    item.pop("url")
    item["protocol"] = protocol
    item["host"] = parsed.hostname if parsed.hostname else NULL
    item["port"] = port or (80 if protocol == "http" else 443 if protocol == "https" else 80)
    item["path"] = parsed.path if parsed.path else NULL
    return None


def _entity_fields(edef: EntityDef, plugin: PluginSchema | None) -> list[dict]:
    fields = plugin.fields if plugin is not None else edef.fields
    out = []
    for f in fields:
        if f.get("type") == "foreign":
            f = dict(f, type="foreign")
        out.append(f)
    return out


def _check_foreign(item: dict, edef: EntityDef, errors: dict) -> None:
    for fk in edef.foreign:
        v = item.get(fk)
        if v is None or v is NULL:
            continue
        if isinstance(v, dict):
            if not isinstance(v.get("id"), str):
                errors[fk] = {"id": "required field missing"}
        elif not isinstance(v, str):
            errors[fk] = "expected a string"


class TreeValidator:
    """Validates the nested entity tree for one declarative file."""

    def __init__(self, entities: dict[str, EntityDef], plugins: dict[str, PluginSchema]) -> None:
        self.entities = entities
        self.plugins = plugins

    def validate(self, doc: dict) -> dict:
        errors: dict = {}
        fv = doc.get("_format_version")
        if fv is None or fv is NULL:
            errors["_format_version"] = "required field missing"
        elif not isinstance(fv, str):
            errors["_format_version"] = "expected a string"
        elif fv not in FORMAT_VERSIONS:
            errors["_format_version"] = "expected one of: " + ", ".join(FORMAT_VERSIONS)
        for key, value in doc.items():
            if key == "_format_version":
                continue
            if key == "_transform":
                if not isinstance(value, bool):
                    errors[key] = "expected a boolean"
            elif key == "_comment":
                if not isinstance(value, str):
                    errors[key] = "expected a string"
            elif key == "_ignore":
                if not isinstance(value, list):
                    errors[key] = "expected an array"
            elif key in self.entities:
                err = self._validate_list(key, value, None)
                if err:
                    errors[key] = err
            elif key in OTHER_CORE_ENTITIES:
                if not isinstance(value, list) and not (isinstance(value, dict) and not value):
                    errors[key] = "expected an array"
            else:
                errors[key] = "unknown field"
        return errors

    def _validate_list(self, entity: str, value: Any, parent: str | None) -> Any:
        if isinstance(value, dict) and not value:
            return None
        if not isinstance(value, list):
            return "expected an array"
        errs: dict = {}
        for i, item in enumerate(value):
            e = self._validate_item(entity, item, parent)
            if e:
                errs[i + 1] = e
        return errs or None

    def _validate_item(self, entity: str, item: Any, parent: str | None) -> Any:
        if not isinstance(item, dict):
            return "expected a record"
        edef = self.entities[entity]
        errors: dict = {}
        data = {k: v for k, v in item.items() if k not in edef.children and k not in _EXTRA}
        for child in edef.children:
            if child in item:
                e = self._validate_list(child, item[child], entity)
                if e:
                    errors[child] = e
        if "_comment" in item and not isinstance(item["_comment"], str):
            errors["_comment"] = "expected a string"
        if entity == "services" and "url" in data:
            e = expand_service_url(data)
            if e:
                errors["url"] = e
        plugin = None
        if entity == "plugins":
            name = data.get("name")
            if name is None or name is NULL:
                errors["name"] = "required field missing"
                return errors
            if not isinstance(name, str) or name not in self.plugins:
                errors["name"] = ("plugin '%s' not enabled; add it to the 'plugins' configuration property"
                                  % (name if isinstance(name, str) else "?"))
                return errors
            plugin = self.plugins[name]
            if parent is not None:
                fk = self.entities[parent].children.get("plugins")
                if fk and plugin.no_scope(fk):
                    errors[fk] = "value must be null"
        fields = _entity_fields(edef, plugin)
        if "id" in data and isinstance(data["id"], str) and not _UUID_RX.match(data["id"]):
            errors["id"] = "expected a valid UUID"
        _check_foreign(data, edef, errors)
        filled = process_auto_fields(fields, data)
        if plugin is not None and not plugin.emulated_schema and "config" not in data:
            filled["config"] = {}
        rec_errors = validate_record(fields, filled, (plugin.entity_checks if plugin else edef.entity_checks))
        for k, v in rec_errors.items():
            if k in errors:
                continue
            if k in ("id", "created_at", "updated_at") and v == "required field missing":
                continue
            if k in edef.foreign and v == "required field missing" and parent is not None \
                    and self.entities[parent].children.get(entity) == k:
                continue  # the parent reference comes from the nesting
            errors[k] = v
        return errors or None


def pretty_print_error(err_t: dict, item: str | None = None, indent: str = "") -> str:
    """kong/db/declarative/init.lua pretty_print_error."""
    out = []
    for k, v in err_t.items():
        if isinstance(k, int):
            prettykey = "- in entry %d of '%s'" % (k, item)
        else:
            prettykey = "in '%s'" % k
        if isinstance(v, (dict, list)):
            if isinstance(v, list):
                v = {i + 1: x for i, x in enumerate(v)}
            out.append(indent + prettykey + ":")
            out.append(pretty_print_error(v, str(k), indent + "  "))
        else:
            out.append(indent + prettykey + ": " + str(v))
    return "\n".join(out)


def validate_scalar_field(field: dict, value: Any) -> Any:
    """Expose schema.validate_field for callers that validate one value."""
    return validate_field(field, value)
