"""PDK phase checks (kong/pdk/private/phases.lua).

Why: a PDK call in the wrong phase raises a Lua error that Kong does not
catch for external plugins (mp_rpc.lua call_pdk_method has no pcall): in
access the request fails with 500, in a log timer the event dies.  The error
text is Kong's: "function cannot be called in <phase> phase (only in: ...)".
"""
from __future__ import annotations

from .constants import PHASE_BITS as P
from .luatypes import LuaError

_BIT_TO_NAME = {v: k for k, v in P.items()}


def phases(*names: str) -> int:
    mask = 0
    for n in names:
        mask |= P[n]
    return mask


REQUEST = phases("rewrite", "access", "response", "header_filter", "body_filter", "log",
                 "error", "admin_api", "cluster_listener")
REWRITE_ACCESS = phases("rewrite", "access")
ACCESS_REWRITE_BALANCER = phases("rewrite", "access", "balancer")
BEFORE_CONTENT = phases("rewrite", "access", "response", "error", "admin_api")
HEADER_BODY_LOG = phases("response", "header_filter", "body_filter", "log", "error", "admin_api")
REWRITE_ACCESS_HEADER = phases("rewrite", "access", "response", "header_filter", "error", "admin_api")
AUTH_AND_LATER = phases("access", "header_filter", "response", "body_filter", "log")
ROUTER = phases("access", "header_filter", "response", "body_filter", "log")
SERVICE_RESPONSE = phases("response", "header_filter", "body_filter", "log")
WITH_CTX = phases("rewrite", "access", "response", "header_filter", "body_filter", "log",
                  "error", "admin_api", "preread", "balancer")
LOG = phases("log")
ACCESS = phases("access")
BODY_FILTER = phases("body_filter")


def _names(mask: int) -> str:
    out = []
    n = 1
    for _ in range(30):
        if mask & n and n in _BIT_TO_NAME:
            out.append(_BIT_TO_NAME[n])
        n <<= 1
    return ", ".join(out)


def check(current: str | None, accepted: int) -> None:
    """phases.lua check_phase."""
    if current is None:
        raise LuaError("no phase in ngx.ctx.KONG_PHASE, (need one of %s)" % _names(accepted))
    bit = P.get(current, 0)
    if bit & accepted:
        return
    raise LuaError("function cannot be called in %s phase (only in: %s)" % (current, _names(accepted)))


def check_not(current: str | None, rejected: int) -> None:
    """phases.lua check_not_phase."""
    if current is None:
        raise LuaError("no phase in ngx.ctx.KONG_PHASE")
    if P.get(current, 0) & rejected:
        raise LuaError("function cannot be called in %s phase (can be called in any phases except: %s)"
                       % (current, _names(rejected)))
