"""Kong plugin `token-meter`: reserve the call's worst case in access, settle it when the relay is done.

Thin PDK wiring; the decisions are in `kong_plugins.metering`. PDK round trips:
access 1 (get_var: the request context is shared; GET /v1/budget answers with exit after reading its
query, and loads the consumer it names), log 1 (the request id from
kong.ctx.shared; kong.log.serialize as well only when Kong answered without us).
Storage round trips: one Redis EVALSHA per phase when Redis is configured.
"""

from __future__ import annotations

import json
import time
from typing import Any

from kong_plugins import metrics
from kong_plugins.context import Consumer, RequestContext, store
from kong_plugins.eventlog import log_event
from kong_plugins.kong_request import REQUEST_ID_KEY, guarded, request_context, request_path, respond
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.metering import budget_status
from kong_plugins.metering.exporters import exporters_for
from kong_plugins.metering.meter import Meter
from kong_plugins.metering.summary import Outcome, RequestSummary, record
from kong_plugins.schemas import TOKEN_METER_SCHEMA

NAME = "token-meter"
version = "0.2.0"
priority = -1003   # after bedrock-proxy (-1002): budgets reserve the call it planned
Schema = TOKEN_METER_SCHEMA


class Plugin:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.role_tag_prefix = config.get("role_tag_prefix") or "role:"
        self.default_role = config.get("default_role") or "other"
        self.meter = Meter(config)
        for conflict in self.meter.policy.conflicts:
            log_event("limits_conflict", "error", plugin=NAME, conflict=conflict)
        readers = config.get("budget_readers")   # [] is nobody: only a missing field means the default
        self.budget_readers = frozenset(("admin",) if readers is None else readers)
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
                return respond(kong, reply, ctx)
            ctx.when_relayed(lambda: self.meter.settle(ctx))   # before the client can send its next request
        elif ctx.upstream is None and request_path(kong, ctx).rstrip("/") == budget_status.PATH:
            return respond(kong, self._budget(kong, ctx, ctx.role), ctx)
        ctx.signoffs.add(NAME)

    def _budget(self, kong: Any, ctx: RequestContext, role: str) -> Reply:
        """The caller's budget, or (`?consumer=`, a role in budget_readers) another consumer's: one PDK call for
        the query, one to load that consumer."""
        asked = kong.request.get_query_arg(budget_status.CONSUMER_ARG)
        if not asked:
            return self.meter.status(ctx, ctx.consumer, role)
        if role not in self.budget_readers:
            return render_error(ApiFormat.OPENAI, ErrorKind.PERMISSION, "Only the roles in token-meter's "
                                "budget_readers may read another consumer's budget.", param=budget_status.CONSUMER_ARG)
        consumer = Consumer.from_pdk(kong.client.load_consumer(asked, True)) if isinstance(asked, str) else None
        if consumer is None:
            return render_error(ApiFormat.OPENAI, ErrorKind.NOT_FOUND, "No consumer has that username or id.",
                                param=budget_status.CONSUMER_ARG)
        return self.meter.status(ctx, consumer, consumer.role(self.role_tag_prefix) or self.default_role)

    @guarded(NAME, "log")
    def log(self, kong: Any) -> None:
        request_id = kong.ctx.shared.get(REQUEST_ID_KEY)
        ctx = store.pop(request_id) if isinstance(request_id, str) and request_id else None
        outcome = Outcome.from_context(ctx, time.monotonic(), self.role_tag_prefix) if ctx is not None else None
        if outcome is None:   # Kong answered without us, or kong.yaml lacks the id: one more call
            raw = kong.log.serialize()
            outcome = Outcome.from_serialized(json.loads(raw) if isinstance(raw, (str, bytes)) and raw else {},
                                              self.role_tag_prefix)
            ctx = ctx or (store.pop(outcome.request_id) if outcome.request_id else None)
        if ctx is None:
            record(RequestSummary.build(outcome, None, self.default_role), self.exporters)
            return

        def settle() -> None:
            self.meter.settle(ctx)
            record(RequestSummary.build(outcome, ctx, self.default_role), self.exporters)

        ctx.after_relay(settle)
