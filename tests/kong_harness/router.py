"""HTTP router, ``router_flavor = traditional_compatible`` (the 3.6 default).

Why: in 3.6.1 traditional routes are compiled to ATC expressions
(kong/router/compat.lua get_expression) and ordered by a 64-bit priority
(compat.lua get_priority): match-field count, plain-host-only, header count,
regex flag, regex_priority, longest prefix.  Routes with several paths are
split per prefix length / regex group (split_routes_and_services_by_path,
UUIDv5 ids).  The upstream URI always follows path_handling v0 in this flavour
(kong/router/atc.lua set_upstream_uri -> kong/router/utils.lua get_upstream_uri_v0).
Ties of equal priority are broken by the (split) route uuid, descending, like
the ATC matcher's ``BTreeMap<(priority, uuid)>`` iterated in reverse.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import constants as C


@dataclass
class Match:
    """kong/router/atc.lua ``match_t``."""

    route: dict
    service: dict | None
    prefix: str | None
    uri_captures: dict | None
    upstream_uri: str
    upstream_scheme: str | None
    upstream_host: str | None
    upstream_url_t: dict = field(default_factory=dict)


@dataclass
class _Compiled:
    route: dict
    split_id: str
    service: dict | None
    priority: int
    paths: list[tuple[str, Any]]  # ("prefix", "/a") or ("regex", compiled)
    hosts: list[tuple[str, str, int | None]]
    methods: list[str]
    headers: list[tuple[str, list[tuple[str, Any]]]]


def split_host_port(key: str | None) -> tuple[str | None, int | None]:
    """atc.lua split_host_port."""
    if not key:
        return None, None
    p = key.find(":")
    if p < 0:
        return key, None
    try:
        return key[:p], int(key[p + 1:])
    except ValueError:
        return key, None


def _is_regex(path: str) -> bool:
    return path.startswith("~")


def _compile_regex(path: str) -> Any:
    # compat.lua: strip "~", anchor with "^", "(?<name>" -> "(?P<name>"
    return re.compile("^" + path[1:].replace("?<", "?P<"))


def get_priority(route: dict, paths: list[str]) -> int:
    """compat.lua get_priority (http expression branch)."""
    weight = 0
    if route.get("methods"):
        weight += 1
    hosts = route.get("hosts") or []
    if hosts:
        weight += 1
    headers_count = min(len(route.get("headers") or {}), 255)
    if headers_count:
        weight += 1
    if route.get("snis"):
        weight += 1
    plain_host_only = isinstance(route.get("hosts"), list) and all("*" not in h for h in hosts)
    uri_length = 0
    regex_url = False
    if paths:
        weight += 1
        if _is_regex(paths[0]):
            regex_url = True
        else:
            uri_length = len(paths[0].encode())
    prio = weight << 61
    if plain_host_only:
        prio |= 1 << 60
    if regex_url:
        prio |= 1 << 51
    prio |= headers_count << 52
    prio |= ((route.get("regex_priority") or 0) if regex_url else 0) << 19
    prio |= uri_length & 0x7FFFF
    return prio


def _split_paths(route: dict) -> list[tuple[str, list[str]]]:
    """compat.lua split_route_by_path_into: one group per prefix length, one for regexes."""
    paths = route.get("paths") or []
    if len(paths) <= 1:
        return [(route["id"], list(paths))]
    groups: dict[Any, list[str]] = {}
    for p in paths:
        groups.setdefault(True if _is_regex(p) else len(p.encode()), []).append(p)
    ns = uuid.UUID(C.ROUTE_SPLIT_UUID_NAMESPACE)
    out = []
    for index, ps in groups.items():
        idx = "true" if index is True else str(index)
        out.append((str(uuid.uuid5(ns, route["id"] + "#" + idx)), ps))
    return out


def get_upstream_uri_v0(route: dict, request_postfix: str, req_uri: str, upstream_base: str) -> str:
    """kong/router/utils.lua get_upstream_uri_v0."""
    strip_path = route.get("strip_path")
    if upstream_base.endswith("/"):
        if strip_path:
            if request_postfix == "":
                if upstream_base == "/":
                    return "/"
                if req_uri.endswith("/"):
                    return upstream_base
                return upstream_base[:-1]
            if request_postfix.startswith("/"):
                return upstream_base[:-1] + request_postfix
            return upstream_base + request_postfix
        return upstream_base + req_uri[1:]
    if strip_path:
        if request_postfix == "":
            if len(req_uri) > 1 and req_uri.endswith("/"):
                return upstream_base + "/"
            return upstream_base
        if request_postfix.startswith("/"):
            return upstream_base + request_postfix
        return upstream_base + "/" + request_postfix
    if req_uri == "/":
        return upstream_base
    return upstream_base + req_uri


def sanitize_uri_postfix(postfix: str) -> str:
    """kong/router/utils.lua sanitize_uri_postfix."""
    if not postfix:
        return postfix
    if postfix in (".", ".."):
        return ""
    if postfix.startswith("./"):
        return postfix[2:]
    if postfix.startswith("../"):
        return postfix[3:]
    return postfix


class Router:
    """Routes compiled once (DB-less: the router is built at init)."""

    def __init__(self, routes: list[dict], services: dict[str, dict]) -> None:
        compiled: list[_Compiled] = []
        for route in routes:
            protocols = route.get("protocols") or []
            if not any(p in ("http", "https") for p in protocols):
                continue  # grpc/stream routes are not served by the harness
            service = services.get((route.get("service") or {}).get("id", ""))
            for split_id, paths in _split_paths(route):
                hosts = []
                for h in route.get("hosts") or []:
                    host, port = split_host_port(h)
                    op = "=="
                    if host.startswith("*"):
                        op, host = "=^", host[1:]
                    elif host.endswith("*"):
                        op, host = "^=", host[:-1]
                    hosts.append((op, host, port))
                headers = []
                for name, values in (route.get("headers") or {}).items():
                    vals = []
                    for v in values:
                        if v.startswith("~*"):
                            vals.append(("regex", re.compile(v[2:].lower())))
                        else:
                            vals.append(("eq", v.lower()))
                    headers.append((name.lower(), vals))
                compiled.append(_Compiled(
                    route=route, split_id=split_id, service=service,
                    priority=get_priority(route, paths),
                    paths=[("regex", _compile_regex(p)) if _is_regex(p) else ("prefix", p) for p in paths],
                    hosts=hosts, methods=list(route.get("methods") or []), headers=headers,
                ))
        compiled.sort(key=lambda c: (c.priority, c.split_id), reverse=True)
        self._routes = compiled

    def _match_one(self, c: _Compiled, method: str, uri: str, host: str | None, port: int | None,
                   headers: dict[str, list[str]]) -> tuple[bool, str | None, dict | None]:
        if c.methods and method not in c.methods:
            return False, None, None
        if c.hosts:
            ok = False
            for op, h, hport in c.hosts:
                hv = host or ""
                hit = hv == h if op == "==" else hv.endswith(h) if op == "=^" else hv.startswith(h)
                if hit and (hport is None or hport == port):
                    ok = True
                    break
            if not ok:
                return False, None, None
        for name, vals in c.headers:
            present = [v.lower() for v in headers.get(name, [])]
            if not any((kind == "eq" and pv == want) or (kind == "regex" and want.search(pv))
                       for pv in present for kind, want in vals):
                return False, None, None
        if not c.paths:
            return True, None, None
        for kind, p in c.paths:
            if kind == "prefix":
                if uri.startswith(p):
                    return True, p, None
            else:
                m = p.match(uri)
                if m:
                    caps: dict | None = None
                    if m.re.groups and m.group(1) is not None:
                        caps = {0: m.group(0)}
                        for i, g in enumerate(m.groups()):
                            if g is not None:
                                caps[i + 1] = g
                        caps.update({k: v for k, v in m.groupdict().items() if v is not None})
                    return True, m.group(0), caps
        return False, None, None

    def exec(self, method: str, request_uri: str, host_header: str | None,
             headers: dict[str, list[str]], server_port: int) -> Match | None:
        """atc.lua _M:exec -> matching -> set_upstream_uri."""
        req_uri = request_uri.split("?", 1)[0]  # strip_uri_args
        host, _ = split_host_port(host_header)
        for c in self._routes:
            ok, matched_path, caps = self._match_one(c, method, req_uri, host, server_port, headers)
            if not ok:
                continue
            route, service = c.route, c.service
            prefix = matched_path if route.get("strip_path") else None
            upstream_path = (service or {}).get("path")
            request_prefix = prefix or "/"
            postfix = sanitize_uri_postfix(req_uri[len(request_prefix):])
            upstream_uri = get_upstream_uri_v0(route, postfix, req_uri, upstream_path or "/")
            return Match(
                route=route, service=service, prefix=prefix, uri_captures=caps,
                upstream_uri=upstream_uri,
                upstream_scheme=(service or {}).get("protocol"),
                upstream_host=host_header if route.get("preserve_host") else None,
                upstream_url_t={"host": (service or {}).get("host"), "port": (service or {}).get("port"),
                                "path": upstream_path},
            )
        return None
