"""Kong plugin `bedrock-proxy`: decide the model, authorise it, hand the call to the relay.

Thin PDK wiring only; the decisions are pure functions in `kong_plugins.policy`,
`kong_plugins.formats` and `kong_plugins.relay.call`. PDK round trips in
access: get_var (context key), get_path, service.request.set_header — plus
consumer and body when this is the first of our plugins on the route.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.context import RequestContext, store
from kong_plugins.formats import anthropic, openai_chat
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.errors import ErrorKind, ErrorResponse, render_error
from kong_plugins.kong_request import guarded, request_context, request_path, respond_error
from kong_plugins.policy.catalogue import Catalogue
from kong_plugins.relay.call import RELAY_TOKEN_HEADER, plan_call
from kong_plugins.schemas import BEDROCK_PROXY_SCHEMA

NAME = "bedrock-proxy"
version = "0.1.0"
priority = 900   # below key-auth 1250, acl 950, rate-limiting 910, token-meter 902, guardrails 901
Schema = BEDROCK_PROXY_SCHEMA

_PARSERS = {"/v1/messages": ApiFormat.ANTHROPIC, "/v1/chat/completions": ApiFormat.OPENAI}


class Plugin:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.catalogue = Catalogue.from_config(config)
        self.region = config.get("region") or "us-east-1"
        self.role_tag_prefix = config.get("role_tag_prefix") or "role:"
        self.default_role = config.get("default_role") or "other"
        self.default_max_tokens = int(config.get("default_max_tokens") or 4096)

    @guarded(NAME, "access")
    def access(self, kong: Any) -> None:
        ctx = request_context(kong)
        path = request_path(kong, ctx).rstrip("/")
        decision = self.decide(ctx, path)
        if isinstance(decision, ErrorResponse):
            return respond_error(kong, decision)
        ctx.signoffs.add(NAME)
        kong.service.request.set_header(RELAY_TOKEN_HEADER, store.issue_relay_token(ctx))

    def decide(self, ctx: RequestContext, path: str) -> ErrorResponse | None:
        """Plan the Bedrock call onto `ctx.upstream`, or say why not (pure, no PDK)."""
        api = _PARSERS.get(path)
        if api is None:
            return render_error(ctx.api or ApiFormat.OPENAI, ErrorKind.NOT_FOUND,
                                "This API is not served by the gateway yet.")
        try:
            if api is ApiFormat.ANTHROPIC:
                internal = anthropic.parse_request(ctx.body)
                include_usage = False
            else:
                request = openai_chat.parse_request(ctx.body)
                internal = {**openai_chat.to_anthropic(request, self.default_max_tokens),
                            "model": request.get("model")}
                include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)

        ctx.role = (ctx.consumer.role(self.role_tag_prefix) if ctx.consumer else None) or self.default_role
        policy = self.catalogue.roles.get(ctx.role)
        if policy is None:
            return render_error(api, ErrorKind.PERMISSION, "Your API key has no model access on this gateway.")
        requested = internal.get("model") or policy.default_model
        entry = self.catalogue.resolve(requested)
        if entry is None:
            return render_error(api, ErrorKind.MODEL_NOT_FOUND,
                                "The requested model is not in the gateway's catalogue.", param="model")
        if not policy.allows(entry):
            allowed = ", ".join(self.catalogue.allowed_names(policy))
            return render_error(api, ErrorKind.MODEL_NOT_ALLOWED, f"Your role may use these models: {allowed}.",
                                param="model")
        try:
            ctx.upstream = plan_call(api, internal, entry, client_model=requested, region=self.region,
                                     include_usage=include_usage)
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
        ctx.model = entry.name
        return None
