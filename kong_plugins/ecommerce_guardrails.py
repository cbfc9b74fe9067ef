"""Kong plugin `ecommerce-guardrails`: block (or redact, or count) what user prompts disclose.

Thin PDK wiring; detection is in `kong_plugins.guardrails`. It runs first of our
plugins, so it loads the request context every plugin shares (id, path and body
and consumer from the post-function's kong.ctx.shared table: the body is
fetched once per request). A redaction rewrites the
context's body, which is what bedrock-proxy plans and the relay sends. Logs and
metrics name categories and the consumer, never the matched text. It also answers
OpenAI's `POST /v1/moderations` itself (guardrails.moderation), with its own detectors.
"""

from __future__ import annotations

from typing import Any

from kong_plugins import metrics
from kong_plugins.context import RequestContext
from kong_plugins.eventlog import log_event
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.guardrails import moderation, scan_pool
from kong_plugins.guardrails.scanner import UNREADABLE, Scanner
from kong_plugins.kong_request import bedrock_headers, guarded, request_context, request_path, respond
from kong_plugins.schemas import ECOMMERCE_GUARDRAILS_SCHEMA

NAME = "ecommerce-guardrails"
version = "0.2.0"
priority = -1001   # first of ours: a blocked prompt costs no policy or budget work. After post-function
#                   (-1000), whose kong.ctx.shared table brings id, path, body and consumer in one round trip
Schema = ECOMMERCE_GUARDRAILS_SCHEMA


class Plugin:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.scanner = Scanner(config)                 # patterns compiled once per plugin instance
        self.role_tag_prefix = config.get("role_tag_prefix") or "role:"
        if self.scanner.invalid_patterns:
            log_event("guardrail_config_invalid", level="error", plugin=NAME,
                      custom_patterns=self.scanner.invalid_patterns, reason="not an RE2 regular expression")

    @guarded(NAME, "access")
    def access(self, kong: Any) -> None:
        ctx = request_context(kong, first=True)
        path = request_path(kong, ctx)    # the 403 speaks the client's API format (no call: the snapshot has it)
        role = (ctx.consumer.role(self.role_tag_prefix) if ctx.consumer else None) or "other"
        if self.scanner.invalid_patterns:   # a check that cannot run: fail closed (the log names the patterns)
            metrics.rejections_total.labels(reason="guardrail_misconfigured", role=role).inc()
            return respond(kong, render_error(ctx.api or ApiFormat.OPENAI, ErrorKind.UNAVAILABLE,
                                              "The gateway's content policy is misconfigured; the request was not "
                                              "sent to the model.", retry_after=1), ctx)
        if path.rstrip("/") == moderation.PATH:   # a question about the text, answered here: never blocked
            return respond(kong, self._moderation(ctx), ctx)
        # a large body on a thread: the loop relays meanwhile. Claude Code names its session in a header
        result = scan_pool.scan(self.scanner, ctx.body, from_claude_code=ctx.client_session is not None)
        if path.startswith("/model/"):   # InvokeModel's request metadata is a header, which Bedrock's logs keep
            bedrock_headers(kong, ctx)
            if ctx.metadata_header:
                self.scanner.scan_unwritable(ctx.metadata_header, result)
        for category, action in result.found.items():
            metrics.guardrail_blocks_total.labels(category=category, role=role, action=action).inc()
        if result.blocked:
            metrics.rejections_total.labels(reason="guardrail", role=role).inc()
            log_event("guardrail_block", request_id=ctx.request_id, categories=result.blocked,
                      consumer=ctx.consumer.username if ctx.consumer else None, unreadable=result.unreadable or None)
            message = ("The request was blocked by the gateway's content policy "
                       f"(categories: {', '.join(result.blocked)}).")
            if UNREADABLE in result.blocked:
                message += f" An attached document could not be checked: {'; '.join(dict.fromkeys(result.unreadable))}."
            return respond(kong, render_error(ctx.api or ApiFormat.OPENAI, ErrorKind.CONTENT_BLOCKED, message), ctx)
        if result.body is not None:
            ctx.body = result.body
        ctx.signoffs.add(NAME)

    def _moderation(self, ctx: RequestContext) -> Reply:
        try:
            return Reply(200, scan_pool.run(len(ctx.body or b""), moderation.moderate, self.scanner, ctx.body), {})
        except RequestError as exc:
            return render_error(ApiFormat.OPENAI, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
