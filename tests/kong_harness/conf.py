"""kong.conf + ``KONG_*`` environment loading (kong/conf_loader/init.lua).

Why: the product configures Kong only through kong.conf lines and KONG_*
variables; the harness must read exactly the same keys, apply the same
defaults (kong/templates/kong_defaults.lua) and derive the same plugin-server
definitions (kong/runloop/plugin_servers/process.lua get_server_defs).
Unknown keys are ignored, as Kong ignores (only warns about) them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping

from . import constants as C

# kong/templates/kong_defaults.lua (the subset the harness uses)
DEFAULTS: dict[str, str] = {
    "prefix": "/usr/local/kong/",
    "log_level": "notice",
    "plugins": "bundled",
    "pluginserver_names": "NONE",
    "headers": "server_tokens, latency_tokens, x-kong-request-id",
    "headers_upstream": "x-kong-request-id",
    "trusted_ips": "NONE",
    "error_default_type": "text/plain",
    "nginx_http_client_max_body_size": "0",
    "nginx_http_client_body_buffer_size": "8k",
    "client_body_buffer_size": "8k",
    "router_flavor": "traditional_compatible",
    "lua_socket_pool_size": "256",
    "upstream_keepalive_pool_size": "512",
    "upstream_keepalive_max_requests": "10000",
    "upstream_keepalive_idle_timeout": "60",
    "real_ip_header": "X-Real-IP",
    "database": "postgres",
}

LOG_LEVELS = ("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg")

# kong/conf_loader/constants.lua HEADER_KEY_TO_NAME / UPSTREAM_HEADER_KEY_TO_NAME
_HEADER_KEY_TO_NAME = {
    "server_tokens": "server_tokens",
    "latency_tokens": "latency_tokens",
    C.H_VIA.lower(): C.H_VIA,
    C.H_SERVER.lower(): C.H_SERVER,
    C.H_PROXY_LATENCY.lower(): C.H_PROXY_LATENCY,
    C.H_RESPONSE_LATENCY.lower(): C.H_RESPONSE_LATENCY,
    C.H_ADMIN_LATENCY.lower(): C.H_ADMIN_LATENCY,
    C.H_UPSTREAM_LATENCY.lower(): C.H_UPSTREAM_LATENCY,
    C.H_UPSTREAM_STATUS.lower(): C.H_UPSTREAM_STATUS,
    C.H_REQUEST_ID.lower(): C.H_REQUEST_ID,
}


class ConfError(Exception):
    """A kong.conf value Kong would refuse."""


@dataclass
class ServerDef:
    """process.lua ``_servers[i]``: one external plugin server."""

    name: str
    socket: str
    start_command: str | None
    query_command: str | None
    protocol: str = "MsgPack:1"


@dataclass
class KongConf:
    """The loaded configuration (``kong.configuration``)."""

    values: dict[str, str]
    loaded_plugins: list[str]
    server_defs: list[ServerDef]
    enabled_headers: set[str]
    enabled_headers_upstream: set[str]
    client_body_buffer_size: int
    client_max_body_size: int
    log_level: str
    nginx_env: dict[str, str | None] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)


def parse_conf_text(text: str) -> dict[str, str]:
    """conf_loader's kong.conf reader: ``key = value``, ``#`` comments (``\\#`` escapes)."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = re.sub(r"(?<!\\)#.*$", "", raw).replace("\\#", "#").strip()
        if not line or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out[key.strip().lower()] = value.strip()
    return out


def parse_array(value: str | None) -> list[str]:
    """conf_loader ``typ = "array"``: comma list, stripped, ``NONE`` = empty."""
    if value is None:
        return []
    value = value.strip()
    if value in ("", "NONE"):
        return []
    return [p.strip() for p in value.split(",") if p.strip()]


def parse_size(value: str) -> int:
    """nginx size syntax (``8k``, ``10m``, ``1g``, plain bytes)."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)\s*", value or "")
    if not m:
        raise ConfError("invalid size: %r" % value)
    mult = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2).lower()]
    return int(m.group(1)) * mult


def parse_nginx_main_env(value: str | None) -> dict[str, str | None]:
    """Names declared by ``nginx_main_env``.

    Kong renders ``nginx_main_env = X`` as ``env X;`` in nginx.conf, so a value
    ``A; env B; env C=v`` yields three ``env`` directives.  ``NAME=value`` sets
    a value instead of inheriting it from the master process.
    """
    declared: dict[str, str | None] = {}
    if not value:
        return declared
    for i, part in enumerate(value.split(";")):
        part = part.strip()
        if not part:
            continue
        if i > 0:
            if not part.startswith("env ") and not part.startswith("env\t"):
                continue  # another injected directive, not an env one
            part = part[4:].strip()
        if "=" in part:
            name, val = part.split("=", 1)
            declared[name.strip()] = val
        else:
            declared[part] = None
    return declared


def worker_environment(declared: Mapping[str, str | None], master_env: Mapping[str, str]) -> dict[str, str]:
    """The environment nginx hands to workers (and so to plugin servers).

    nginx's ``env`` directive docs: "By default, nginx removes all environment
    variables inherited from its parent process except the TZ variable."
    """
    env: dict[str, str] = {}
    if "TZ" in master_env:
        env["TZ"] = master_env["TZ"]
    for name, val in declared.items():
        if val is not None:
            env[name] = val
        elif name in master_env:
            env[name] = master_env[name]
    return env


def _enabled_headers(tokens: list[str], mapping: Mapping[str, str]) -> set[str]:
    enabled: set[str] = set()
    if tokens and tokens[0] != "off":
        for tok in tokens:
            if tok != "off" and tok.lower() in mapping:
                enabled.add(mapping[tok.lower()])
    if "server_tokens" in enabled:
        enabled |= {C.H_VIA, C.H_SERVER}
    if "latency_tokens" in enabled:
        enabled |= {C.H_PROXY_LATENCY, C.H_RESPONSE_LATENCY, C.H_ADMIN_LATENCY, C.H_UPSTREAM_LATENCY}
    return enabled


def _server_defs(values: Mapping[str, str]) -> list[ServerDef]:
    """process.lua get_server_defs."""
    defs = []
    for name in parse_array(values.get("pluginserver_names")):
        name = name.lower()
        prefix = "pluginserver_" + name.replace("-", "_")
        start = values.get(prefix + "_start_cmd")
        if start is None and os.path.exists("/usr/local/bin/" + name):
            start = "/usr/local/bin/" + name
        query = values.get(prefix + "_query_cmd")
        if query is None and os.path.exists("/usr/local/bin/query_" + name):
            query = "/usr/local/bin/query_" + name
        defs.append(ServerDef(
            name=name,
            socket=values.get(prefix + "_socket") or "/usr/local/kong/" + name + ".socket",
            start_command=start,
            query_command=query,
        ))
    return defs


def load(conf_path: str | None, env: Mapping[str, str] | None,
         process_env: Mapping[str, str] | None) -> KongConf:
    """conf_loader.load: defaults < kong.conf < KONG_* (master env, then overrides)."""
    values = dict(DEFAULTS)
    if conf_path:
        with open(conf_path, encoding="utf-8") as fh:
            values.update(parse_conf_text(fh.read()))
    for source in (process_env or {}, env or {}):
        for k, v in source.items():
            if k.startswith("KONG_"):
                values[k[5:].lower()] = str(v).strip()

    plugins: list[str] = []
    names = parse_array(values.get("plugins"))
    if names and names[0] != "off":
        for name in names:
            if name == "bundled":
                for b in C.BUNDLED_PLUGINS:
                    if b not in plugins:
                        plugins.append(b)
            elif name != "off" and name not in plugins:
                plugins.append(name)

    log_level = values.get("log_level", "notice").strip().lower()
    if log_level not in LOG_LEVELS:
        raise ConfError("log_level has an invalid value: '%s' (%s)" % (log_level, ", ".join(LOG_LEVELS)))

    # Only the injected nginx_http_* directive reaches nginx.conf; the legacy
    # `client_body_buffer_size` key of kong_defaults.lua is not used by any 3.6.1 template.
    body_buffer = values.get("nginx_http_client_body_buffer_size") or "8k"

    return KongConf(
        values=values,
        loaded_plugins=plugins,
        server_defs=_server_defs(values),
        enabled_headers=_enabled_headers(parse_array(values.get("headers")), _HEADER_KEY_TO_NAME),
        enabled_headers_upstream=_enabled_headers(
            parse_array(values.get("headers_upstream")), {C.H_REQUEST_ID.lower(): C.H_REQUEST_ID}),
        client_body_buffer_size=parse_size(body_buffer),
        client_max_body_size=parse_size(values.get("nginx_http_client_max_body_size", "0")),
        log_level=log_level,
        nginx_env=parse_nginx_main_env(values.get("nginx_main_env")),
    )
