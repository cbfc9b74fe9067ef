"""External plugin discovery (process.lua ``ask_info``) and handler checks.

Why: Kong learns about Python plugins only from the ``query_cmd`` dump, and it
refuses to start on the same conditions as the real one (not a JSON table,
bad ``Version``/``Priority``, ``response`` together with header/body filter).
Sources: kong/runloop/plugin_servers/process.lua (ask_info,
register_plugin_info), kong/db/dao/plugins.lua (load_plugin_handler,
valid_priority, valid_version, load_plugin_schemas error wording).
"""
from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import cjson
from .conf import ServerDef

_FIELD_TYPES = {"string", "number", "integer", "boolean", "array", "set", "map",
                "record", "foreign", "function", "any", "json"}


class PluginLoadError(Exception):
    """Kong aborts startup (the message is Kong's)."""


@dataclass
class ExternalPluginInfo:
    """process.lua ``_plugin_infos[name]``."""

    name: str
    priority: Any
    version: Any
    schema: Any
    phases: list[str]
    server_def: ServerDef
    raw: dict = field(default_factory=dict)


def ask_info(server_def: ServerDef, master_env: Mapping[str, str],
             log: Callable[[str, str], None]) -> list[dict]:
    """Run ``query_cmd`` like ``io.popen`` (``/bin/sh -c``) and decode all of stdout."""
    if not server_def.query_command:
        log("info", "No info query for %s" % server_def.name)
        return []
    try:
        proc = subprocess.run(
            server_def.query_command, shell=True, executable="/bin/sh",
            stdout=subprocess.PIPE, stderr=None, env=dict(master_env), timeout=120,
        )
        dump_text = proc.stdout.decode("utf-8", "surrogateescape")
    except (OSError, subprocess.SubprocessError) as e:
        log("error", "loading plugins info from [%s]:\n%s" % (server_def.name, e))
        return []
    dump, _ = cjson.safe_decode(dump_text)
    if not isinstance(dump, (dict, list)):
        raise PluginLoadError("Not a plugin info table: \n%s\n%s" % (server_def.query_command, dump_text))
    if isinstance(dump, dict):
        server_def.protocol = dump.get("Protocol") or "MsgPack:1"
        infos = dump.get("Plugins") if dump.get("Plugins") is not None else dump
    else:
        server_def.protocol = "MsgPack:1"
        infos = dump
    if isinstance(infos, dict):  # ipairs over a non-sequence table yields nothing
        return []
    out = []
    for info in infos:
        if info is None or not isinstance(info, dict):
            break
        out.append(info)
    return out


def collect_plugin_infos(server_defs: list[ServerDef], master_env: Mapping[str, str],
                         log: Callable[[str, str], None]) -> dict[str, ExternalPluginInfo]:
    """process.lua get_plugin_info: ask every server, first registration wins."""
    infos: dict[str, ExternalPluginInfo] = {}
    for sdef in server_defs:
        for info in ask_info(sdef, master_env, log):
            name = info.get("Name")
            if name in infos:
                log("error", "Duplicate plugin name [%s] by %s and %s"
                    % (name, infos[name].server_def.name, sdef.name))
                continue
            phases = info.get("Phases") or []
            infos[name] = ExternalPluginInfo(
                name=name, priority=info.get("Priority"), version=info.get("Version"),
                schema=info.get("Schema"), phases=[p for p in phases if isinstance(p, str)],
                server_def=sdef, raw=info,
            )
    return infos


def _lua_q(v: Any) -> str:
    """``string.format("%q", tostring(v))``."""
    if v is None or v is cjson.NULL:
        s = "nil" if v is None else "userdata: NULL"
    elif isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, (int, float)):
        s = cjson.format_number(v) if not (isinstance(v, float) and (math.isinf(v) or math.isnan(v))) else str(v)
    elif isinstance(v, (dict, list)):
        s = "table: 0x00000000"
    else:
        s = str(v)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def valid_priority(prio: Any) -> bool:
    if isinstance(prio, bool) or not isinstance(prio, (int, float)):
        return False
    if isinstance(prio, float) and (math.isnan(prio) or math.isinf(prio)):
        return False
    return math.floor(prio) == prio


def valid_version(v: Any) -> bool:
    """luarocks ``version(v)`` parse with at most three numeric components."""
    return isinstance(v, str) and re.fullmatch(r"\s*\d+(\.\d+){0,2}\s*", v) is not None


def _check_schema(schema: Any) -> str | None:
    """A small part of MetaSchema.MetaSubSchema: shape and field types."""
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        return "error in schema definition: no 'fields' table"

    def walk(fields: Any, path: str) -> str | None:
        if not isinstance(fields, list):
            return "%s: expected an array" % path
        for f in fields:
            if not isinstance(f, dict) or len(f) != 1:
                return "%s: each field must be a table with a single key" % path
            (fname, fdef), = f.items()
            if not isinstance(fdef, dict) or fdef.get("type") not in _FIELD_TYPES:
                return "%s.%s: invalid type: %s" % (path, fname, fdef.get("type") if isinstance(fdef, dict) else fdef)
            if fdef["type"] == "record" and "fields" in fdef:
                err = walk(fdef["fields"], path + "." + fname)
                if err:
                    return err
        return None

    return walk(schema["fields"], "schema")


def check_handler(plugin: str, info: ExternalPluginInfo | None) -> str | None:
    """db/dao/plugins.lua load_plugin_handler for an external plugin; error or None."""
    if info is None:
        return "%s plugin is enabled but not installed;\nno plugin found" % plugin
    if info.priority is None:
        # plugin_servers.load_plugin requires plugin.PRIORITY to be truthy
        return "%s plugin is enabled but not installed;\nno plugin found" % plugin
    if not valid_priority(info.priority):
        return ("Plugin %s cannot be loaded because its PRIORITY field is not a valid integer number, got: %s.\n"
                % (_lua_q(plugin), _lua_q(info.priority)))
    if not valid_version(info.version):
        return ("Plugin %s cannot be loaded because its VERSION field does not follow the \"x.y.z\" format, got: %s.\n"
                % (_lua_q(plugin), _lua_q(info.version)))
    if "response" in info.phases and ("header_filter" in info.phases or "body_filter" in info.phases):
        return ("Plugin %s can't be loaded because it implements both `response` and `header_filter` or "
                "`body_filter` methods.\n" % _lua_q(plugin))
    err = _check_schema(info.schema)
    if err:
        return err
    return None
