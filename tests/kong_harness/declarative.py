"""DB-less declarative config loading (kong/db/declarative/init.lua parse_file).

Why: Kong 3.6.1 in DB-less mode reads the file once at startup; a bad file
aborts the start with "error parsing declarative config file <path>:\\n<pretty
errors>" (kong/init.lua parse_declarative_config).  This module chains
unserialize -> on-the-fly migration -> validation (dc_validate) -> ids and
flattening (dc_flatten) and returns the flat entity tables the router, the
plugins iterator and the PDK use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from . import cjson
from .dc_flatten import Flattener
from .dc_schema import EntityDef, PluginSchema
from .dc_validate import TreeValidator, pretty_print_error
from .luatypes import NULL


class DeclarativeError(Exception):
    """The file is unusable; the message is what Kong prints."""


@dataclass
class DeclarativeConfig:
    """Flattened entities by type, each ``{id: entity}`` in declaration order."""

    entities: dict[str, dict[str, dict]]
    meta: dict[str, Any]

    def of(self, kind: str) -> list[dict]:
        return list(self.entities.get(kind, {}).values())

    def get(self, kind: str, entity_id: str) -> dict | None:
        return self.entities.get(kind, {}).get(entity_id)


def _yaml_nulls(v: Any) -> Any:
    """lyaml.null -> ngx.null (declarative/init.lua convert_nulls)."""
    if isinstance(v, dict):
        return {k: (NULL if x is None else _yaml_nulls(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [NULL if x is None else _yaml_nulls(x) for x in v]
    return v


def unserialize(contents: str, filename: str) -> dict:
    """declarative/init.lua unserialize (json by extension, then yaml)."""
    tried = False
    doc: Any = None
    err: str | None = None
    if filename.endswith("json"):
        tried = True
        doc, err = cjson.safe_decode(contents)
    if not isinstance(doc, dict) and re.search(r"ya?ml$", filename):
        tried = True
        try:
            doc = yaml.safe_load(contents)
            if isinstance(doc, dict):
                doc = _yaml_nulls(doc)
            else:
                err, doc = "expected an object", None
        except yaml.YAMLError as e:
            err, doc = str(e), None
    if not isinstance(doc, dict):
        if not tried:
            msg = "unknown file type: %s. (Accepted types: json, yaml)" % filename
        else:
            msg = "failed parsing declarative configuration" + (": " + err if err else "")
        raise DeclarativeError(msg)
    return doc


def _is_plain_path(path: str) -> bool:
    return re.fullmatch(r"[a-zA-Z0-9.\-_~/%]*", path) is not None


def on_the_fly_migration(doc: dict) -> None:
    """declarative/migrations/route_path.lua: ``1.1``/``2.1`` regex paths get ``~``."""
    if doc.get("_format_version") not in ("1.1", "2.1"):
        return

    def migrate(routes: Any) -> None:
        for route in routes if isinstance(routes, list) else []:
            paths = route.get("paths") if isinstance(route, dict) else None
            if isinstance(paths, list):
                route["paths"] = [p if not isinstance(p, str) or p.startswith("~") or _is_plain_path(p)
                                  else "~" + p for p in paths]

    migrate(doc.get("routes"))
    for svc in doc.get("services") or []:
        if isinstance(svc, dict):
            migrate(svc.get("routes"))
    doc["_format_version"] = "3.0"


def parse_table(doc: dict, entities: dict[str, EntityDef], plugins: dict[str, PluginSchema]) -> DeclarativeConfig:
    """declarative_config.lua flatten() on an already-decoded document."""
    on_the_fly_migration(doc)
    doc.setdefault("_transform", True)
    errors = TreeValidator(entities, plugins).validate(doc)
    if errors:
        raise DeclarativeError(pretty_print_error(errors))
    fl = Flattener(entities, plugins)
    fl.generate_ids(doc)
    fl.collect(doc)
    if not fl.errors:
        fl.resolve_references()
    if fl.errors:
        raise DeclarativeError(pretty_print_error(fl.errors))
    meta = {k: v for k, v in doc.items() if k.startswith("_")}
    return DeclarativeConfig(entities=fl.result(), meta=meta)


def parse_file(path: str, entities: dict[str, EntityDef], plugins: dict[str, PluginSchema]) -> DeclarativeConfig:
    """kong/init.lua parse_declarative_config for a file."""
    try:
        with open(path, encoding="utf-8") as fh:
            contents = fh.read()
        doc = unserialize(contents, path)
        return parse_table(doc, entities, plugins)
    except OSError as e:
        raise DeclarativeError("error parsing declarative config file %s:\n%s: %s"
                               % (path, path, e.strerror)) from None
    except DeclarativeError as e:
        raise DeclarativeError("error parsing declarative config file %s:\n%s" % (path, e)) from None


def empty_config(entities: dict[str, EntityDef], plugins: dict[str, PluginSchema]) -> DeclarativeConfig:
    """No declarative_config set: ``parse_table({ _format_version = "3.0" })``."""
    return parse_table({"_format_version": "3.0"}, entities, plugins)
