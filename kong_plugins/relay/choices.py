"""OpenAI Chat's `n` on Bedrock, which answers one choice per call: `n` calls at once, one completion.

Every call goes to the one model planned (no fallback), so the choices come from one model and
are priced at its rates. They run together on the relay's gevent loop, each with its own
retries; if any of them fails, the request fails with it, as for a single call (the client gets
no completion with fewer choices than it asked for). Usage is the calls' sum: each read the
prompt, and Bedrock billed each.
"""

from __future__ import annotations

import json
import time
from typing import Any

from gevent.pool import Pool

from kong_plugins.bedrock.client import BedrockClient, Upstream
from kong_plugins.bedrock.retries import RetryBudget
from kong_plugins.context import RequestContext, Usage
from kong_plugins.formats import openai_chat
from kong_plugins.relay.attempts import Failure, call_with_fallbacks
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.clock import RelayClock
from kong_plugins.relay.responses import render_message


def call_choices(client: BedrockClient, budget: RetryBudget, call: UpstreamCall, request_id: str,
                 clock: RelayClock) -> list[Upstream] | Failure:
    """`call.choices` answers of `call`, in order, or the first failure."""
    began = time.perf_counter()
    outcomes = list(Pool(call.choices).imap(
        lambda _: call_with_fallbacks(client, budget, [call], request_id, RelayClock())[1], range(call.choices)))
    clock.add_waiting(time.perf_counter() - began)   # the calls overlap: their wall time, not their sum
    failure = next((outcome for outcome in outcomes if isinstance(outcome, Failure)), None)
    return failure if failure is not None else [outcome for outcome in outcomes if not isinstance(outcome, Failure)]


def render_choices(call: UpstreamCall, answers: list[Upstream], ctx: RequestContext) -> bytes:
    """One OpenAI completion with a choice per answer; `ctx.usage` becomes their sum."""
    completions: list[dict[str, Any]] = []
    usage = Usage()
    for answer in answers:
        completions.append(json.loads(render_message(call, answer.content, ctx, answer.headers)))
        usage = usage.plus(ctx.usage or Usage())
    ctx.usage = usage
    return json.dumps(openai_chat.with_choices(completions, usage), separators=(",", ":")).encode()
