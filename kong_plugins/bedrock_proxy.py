"""Kong plugin `bedrock-proxy`: decide the model, authorise it, hand the call to the relay.

Thin PDK wiring only; the decisions are pure functions in `kong_plugins.policy`
and `kong_plugins.formats`. PDK round trips in access: get_var (context key),
get_path, service.request.set_header — plus consumer and body when this is
the first of our plugins on the route.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.context import store
from kong_plugins.formats import anthropic
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.errors import ErrorKind, render_error
from kong_plugins.kong_request import guarded, request_context, request_path, respond_error
from kong_plugins.policy.catalogue import Catalogue
from kong_plugins.relay.call import RELAY_TOKEN_HEADER, UpstreamCall
from kong_plugins.schemas import BEDROCK_PROXY_SCHEMA

NAME = "bedrock-proxy"
version = "0.1.0"
priority = 900   # below key-auth 1250, acl 950, rate-limiting 910, token-meter 902, guardrails 901
Schema = BEDROCK_PROXY_SCHEMA


class Plugin:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.catalogue = Catalogue.from_config(config)
        self.region = config.get("region") or "us-east-1"
        self.role_tag_prefix = config.get("role_tag_prefix") or "role:"
        self.default_role = config.get("default_role") or "other"

    @guarded(NAME, "access")
    def access(self, kong: Any) -> None:
        ctx = request_context(kong)
        request_path(kong, ctx)
        api = ctx.api or ApiFormat.OPENAI
        if api is not ApiFormat.ANTHROPIC or ctx.path.rstrip("/") != "/v1/messages":
            return respond_error(kong, render_error(api, ErrorKind.NOT_FOUND,
                                                    "This API is not served by the gateway yet."))
        try:
            request = anthropic.parse_request(ctx.body)
        except anthropic.RequestError as exc:
            return respond_error(kong, render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param))

        ctx.role = (ctx.consumer.role(self.role_tag_prefix) if ctx.consumer else None) or self.default_role
        policy = self.catalogue.roles.get(ctx.role)
        if policy is None:
            return respond_error(kong, render_error(api, ErrorKind.PERMISSION,
                                                    "Your API key has no model access on this gateway."))
        requested = request.get("model") or policy.default_model
        entry = self.catalogue.resolve(requested)
        if entry is None:
            return respond_error(kong, render_error(api, ErrorKind.MODEL_NOT_FOUND,
                                                    "The requested model is not in the gateway's catalogue."))
        if not policy.allows(entry):
            allowed = ", ".join(self.catalogue.allowed_names(policy))
            return respond_error(kong, render_error(
                api, ErrorKind.MODEL_NOT_ALLOWED, f"Your role may use these models: {allowed}."))

        stream = request.get("stream") is True
        ctx.model = entry.name
        ctx.upstream = UpstreamCall(
            api=api, operation="invoke-with-response-stream" if stream else "invoke",
            model_name=entry.name, model_id=entry.bedrock_id, region=entry.region or self.region,
            body=anthropic.invoke_body(request), stream=stream)
        ctx.signoffs.add(NAME)
        kong.service.request.set_header(RELAY_TOKEN_HEADER, store.issue_relay_token(ctx))
