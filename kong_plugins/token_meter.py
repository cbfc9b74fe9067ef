"""Kong plugin `token-meter`: token budgets in access, usage accounting in log.

Budgets (reserve, then settle) arrive with issue #4; this module already
carries the request context that the other plugins reuse and records usage
after the call. PDK round trips: access 1 (get_var; + consumer and body as the
first of our plugins), log 1 (kong.log.serialize).
"""

from __future__ import annotations

import json
from typing import Any

from kong_plugins.context import store
from kong_plugins.kong_request import guarded, request_context
from kong_plugins.metering.summary import RequestSummary, record
from kong_plugins.schemas import TOKEN_METER_SCHEMA

NAME = "token-meter"
version = "0.1.0"
priority = 903   # after bedrock-proxy (904): budgets reserve the call it planned
Schema = TOKEN_METER_SCHEMA


class Plugin:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.role_tag_prefix = config.get("role_tag_prefix") or "role:"
        self.default_role = config.get("default_role") or "other"

    @guarded(NAME, "access")
    def access(self, kong: Any) -> None:
        ctx = request_context(kong)
        if ctx.role is None and ctx.consumer is not None:
            ctx.role = ctx.consumer.role(self.role_tag_prefix)
        ctx.signoffs.add(NAME)

    @guarded(NAME, "log")
    def log(self, kong: Any) -> None:
        raw = kong.log.serialize()
        serialized = json.loads(raw) if isinstance(raw, (str, bytes)) and raw else {}
        request_id = str((serialized.get("request") or {}).get("id") or "")
        ctx = store.pop(request_id) if request_id else None
        if ctx is None:
            record(RequestSummary.build(serialized, None, self.default_role))
        else:
            ctx.after_relay(lambda: record(RequestSummary.build(serialized, ctx, self.default_role)))
