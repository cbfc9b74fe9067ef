"""Kong plugin `token-meter`: reserve the call's worst case in access, settle it in log.

Thin PDK wiring; the decisions are in `kong_plugins.metering`. PDK round trips:
access 1 (get_var: the request context is shared), log 1 (kong.log.serialize).
Storage round trips: one Redis EVALSHA per phase when Redis is configured.
"""

from __future__ import annotations

import json
from typing import Any

from kong_plugins import metrics
from kong_plugins.context import store
from kong_plugins.kong_request import guarded, request_context, respond
from kong_plugins.metering.exporters import exporters_for
from kong_plugins.metering.meter import Meter
from kong_plugins.metering.summary import RequestSummary, record
from kong_plugins.schemas import TOKEN_METER_SCHEMA

NAME = "token-meter"
version = "0.2.0"
priority = 903   # after bedrock-proxy (904): budgets reserve the call it planned
Schema = TOKEN_METER_SCHEMA


class Plugin:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.role_tag_prefix = config.get("role_tag_prefix") or "role:"
        self.default_role = config.get("default_role") or "other"
        self.meter = Meter(config)
        self.exporters = exporters_for(config)
        metrics.set_consumer_label_limit(int(config.get("consumer_label_limit") or 100))

    @guarded(NAME, "access")
    def access(self, kong: Any) -> None:
        ctx = request_context(kong)
        if ctx.role is None:
            ctx.role = (ctx.consumer.role(self.role_tag_prefix) if ctx.consumer else None) or self.default_role
        if ctx.upstream is not None and ctx.upstream.billable:
            reply = self.meter.reserve(ctx, ctx.role)
            if reply is not None:
                store.pop(ctx.request_id)
                return respond(kong, reply)
        ctx.signoffs.add(NAME)

    @guarded(NAME, "log")
    def log(self, kong: Any) -> None:
        raw = kong.log.serialize()
        serialized = json.loads(raw) if isinstance(raw, (str, bytes)) and raw else {}
        request_id = str((serialized.get("request") or {}).get("id") or "")
        ctx = store.pop(request_id) if request_id else None
        if ctx is None:
            record(RequestSummary.build(serialized, None, self.default_role), self.exporters)
            return

        def settle() -> None:
            self.meter.settle(ctx)
            record(RequestSummary.build(serialized, ctx, self.default_role), self.exporters)

        ctx.after_relay(settle)
