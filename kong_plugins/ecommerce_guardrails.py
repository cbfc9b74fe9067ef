"""Kong plugin `ecommerce-guardrails`: scan user-authored prompt content.

The detectors arrive with issue #5. The plugin already joins the request's
shared context (one PDK round trip: the body was fetched once by the first of
our plugins) and signs the context off, which the relay will require (#8).
"""

from __future__ import annotations

from typing import Any

from kong_plugins.kong_request import guarded, request_context, request_path
from kong_plugins.schemas import ECOMMERCE_GUARDRAILS_SCHEMA

NAME = "ecommerce-guardrails"
version = "0.1.0"
priority = 905   # first of ours (below rate-limiting 910): a blocked prompt costs no policy or budget work
Schema = ECOMMERCE_GUARDRAILS_SCHEMA


class Plugin:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @guarded(NAME, "access")
    def access(self, kong: Any) -> None:
        ctx = request_context(kong)
        request_path(kong, ctx)           # the scan and its 403 depend on the client's API format
        ctx.signoffs.add(NAME)
