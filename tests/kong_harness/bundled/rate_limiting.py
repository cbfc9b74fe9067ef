"""rate-limiting, ``policy = local`` (kong/plugins/rate-limiting/handler.lua,
policies/init.lua, expiration.lua, kong/tools/timestamp.lua; PRIORITY 910).

Why: the gateway relies on Kong's per-window counters and headers
(X-RateLimit-Limit-<Period>, X-RateLimit-Remaining-<Period>,
RateLimit-Limit/-Remaining/-Reset, 429 with Retry-After).  Counters live in a
node-wide dict shared by all simulated workers (``kong_rate_limiting_counters``
shm).  Divergences: ``cluster``/``redis`` policies are treated as ``local``,
and the increment happens synchronously instead of in a 0-delay timer.
"""
from __future__ import annotations

import calendar
import time
from typing import Any

from ..pdk_client import get_consumer, get_credential, get_forwarded_ip
from ..pdk_client import get_service as router_get_service
from ..pdk_request import get_header, get_path
from ..pdk_response import error as response_error
from ..pdk_response import set_headers as response_set_headers
from ..request_ctx import RequestContext

PRIORITY = 910
PHASES = {"access"}
EMPTY_UUID = "00000000-0000-0000-0000-000000000000"
EXPIRATION = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "month": 2592000, "year": 31536000}
PERIODS = ("second", "minute", "hour", "day", "month", "year")


def get_timestamps(now_ms: int) -> dict[str, int]:
    """kong/tools/timestamp.lua get_timestamps (UTC window starts, ms)."""
    t = time.gmtime(now_ms // 1000)
    def ts(y: int, mo: int, d: int, h: int, mi: int, s: int) -> int:
        return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1000
    return {
        "second": ts(t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec),
        "minute": ts(t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, 0),
        "hour": ts(t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, 0, 0),
        "day": ts(t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0),
        "month": ts(t.tm_year, t.tm_mon, 1, 0, 0, 0),
        "year": ts(t.tm_year, 1, 1, 0, 0, 0),
    }


def _identifier(rq: RequestContext, conf: dict) -> Any:
    limit_by = conf.get("limit_by")
    ident = None
    if limit_by == "service":
        ident = (router_get_service(rq) or {}).get("id")
    elif limit_by == "consumer":
        ident = (get_consumer(rq) or get_credential(rq) or {}).get("id")
    elif limit_by == "credential":
        ident = (get_credential(rq) or {}).get("id")
    elif limit_by == "header":
        ident = get_header(rq, conf.get("header_name"))
    elif limit_by == "path":
        path = get_path(rq)
        if path == conf.get("path"):
            ident = path
    return ident or get_forwarded_ip(rq)


def _local_key(conf: dict, identifier: Any, period: str, period_date: int) -> str:
    """policies/init.lua get_local_key."""
    return "ratelimit:%s:%s:%s:%d:%s" % (conf.get("route_id") or EMPTY_UUID, conf.get("service_id") or EMPTY_UUID,
                                         identifier, period_date, period)


def _usage(rq: RequestContext, conf: dict, identifier: Any, period: str, now_ms: int) -> int:
    stamps = get_timestamps(now_ms)
    key = _local_key(conf, identifier, period, stamps[period])
    with rq.runtime.shm_lock:
        entry = rq.runtime.shm.get(key)
        if entry is None or entry[1] < time.time():
            return 0
        return entry[0]


def _increment(rq: RequestContext, conf: dict, limits: dict, identifier: Any, now_ms: int) -> None:
    stamps = get_timestamps(now_ms)
    with rq.runtime.shm_lock:
        for period, limit in limits.items():
            if limit is None:
                continue
            key = _local_key(conf, identifier, period, stamps[period])
            entry = rq.runtime.shm.get(key)
            if entry is None or entry[1] < time.time():
                entry = (0, time.time() + EXPIRATION[period])
            rq.runtime.shm[key] = (entry[0] + 1, entry[1])


def access(rq: RequestContext, conf: dict) -> None:
    now_ms = int(time.time()) * 1000  # ngx.time() * 1000
    identifier = _identifier(rq, conf)
    limits = {p: conf.get(p) for p in PERIODS if conf.get(p) is not None}
    usage: dict[str, dict] = {}
    stop = None
    for period, limit in limits.items():
        remaining = limit - _usage(rq, conf, identifier, period, now_ms)
        usage[period] = {"limit": limit, "remaining": remaining}
        if remaining <= 0:
            stop = period
    reset = None
    headers = None
    if not conf.get("hide_client_headers"):
        headers = {}
        limit = window = remaining = None
        stamps = get_timestamps(now_ms)
        for k, v in usage.items():
            cur_remaining = v["remaining"]
            if stop is None or stop == k:
                cur_remaining -= 1
            cur_remaining = max(0, cur_remaining)
            cur_window = EXPIRATION[k]
            if limit is None or cur_remaining < remaining or (cur_remaining == remaining and cur_window > window):
                limit, window, remaining = v["limit"], cur_window, cur_remaining
                reset = max(1, window - (now_ms - stamps[k]) // 1000)
            headers["X-RateLimit-Limit-" + k.capitalize()] = v["limit"]
            headers["X-RateLimit-Remaining-" + k.capitalize()] = cur_remaining
        headers["RateLimit-Limit"] = limit
        headers["RateLimit-Remaining"] = remaining
        headers["RateLimit-Reset"] = reset
    if stop:
        headers = headers or {}
        if reset is not None:
            headers["Retry-After"] = reset
        return response_error(rq, int(conf.get("error_code") or 429), conf.get("error_message"),
                              {k: v for k, v in headers.items() if v is not None})
    if headers:
        response_set_headers(rq, {k: v for k, v in headers.items() if v is not None})
    _increment(rq, conf, limits, identifier, now_ms)
