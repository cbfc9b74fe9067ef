"""acl (kong/plugins/acl/handler.lua + groups.lua, PRIORITY 950).

Why: routes are gated by ACL groups of the authenticated consumer; the 403
body and the ``X-Consumer-Groups`` upstream header must be Kong's.
"""
from __future__ import annotations

from typing import Any

from .. import constants as C
from ..pdk_client import get_consumer, get_credential
from ..pdk_response import error as response_error
from ..pdk_service import set_header
from ..request_ctx import RequestContext

PRIORITY = 950
PHASES = {"access"}


def _consumer_groups(rq: RequestContext, consumer_id: str) -> list[str] | None:
    groups = [a["group"] for a in rq.runtime.dc.of("acls") if (a.get("consumer") or {}).get("id") == consumer_id]
    return groups or None


def _authenticated_groups(rq: RequestContext) -> list[str] | None:
    groups: Any = rq.shared.get("authenticated_groups")
    if not isinstance(groups, (list, dict)):
        groups = rq.ctx.get("authenticated_groups")
        if groups is None:
            return None
        if not isinstance(groups, (list, dict)):
            rq.runtime.log_for(rq, "warn", "invalid authenticated_groups, a table was expected", plugin="acl")
            return None
    return [g for g in (groups if isinstance(groups, list) else groups.values()) if isinstance(g, str)]


def _to_be_blocked(config: dict, groups: list[str], in_group: bool) -> Any:
    blocked = in_group if config["type"] == "DENY" else not in_group
    if blocked is False:
        return "" if config["hide_groups_header"] else ", ".join(groups)
    return blocked


def access(rq: RequestContext, conf: dict) -> None:
    deny = conf.get("deny") or []
    config = {
        "hide_groups_header": conf.get("hide_groups_header"),
        "type": "DENY" if deny else "ALLOW",
        "groups": deny if deny else (conf.get("allow") or []),
    }
    consumer_id = (get_consumer(rq) or {}).get("id") or (get_credential(rq) or {}).get("consumer_id")
    if not consumer_id:
        auth_groups = _authenticated_groups(rq)
        if auth_groups is None:
            if get_credential(rq):
                return response_error(rq, 403, "You cannot consume this service")
            return response_error(rq, 401)
        in_group = any(g in auth_groups for g in config["groups"])
        blocked = _to_be_blocked(config, auth_groups, in_group)
    else:
        credential = get_credential(rq)
        auth_groups = None if credential else _authenticated_groups(rq)
        if auth_groups is not None:
            consumer_id = None
            blocked = _to_be_blocked(config, auth_groups, any(g in auth_groups for g in config["groups"]))
        else:
            groups = _consumer_groups(rq, consumer_id)
            if groups is None:
                if config["type"] == "DENY":
                    groups = []
                else:
                    if credential:
                        return response_error(rq, 403, "You cannot consume this service")
                    return response_error(rq, 401)
            blocked = _to_be_blocked(config, groups, any(g in groups for g in config["groups"]))
    if blocked is True:
        return response_error(rq, 403, "You cannot consume this service")
    if not conf.get("hide_groups_header") and blocked:
        set_header(rq, C.H_CONSUMER_GROUPS if consumer_id else C.H_AUTHENTICATED_GROUPS, blocked)
