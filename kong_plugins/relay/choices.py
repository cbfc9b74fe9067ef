"""OpenAI Chat's `n` on Bedrock, which answers one choice per call: `n` calls at once, one completion
(streamed: one stream whose chunks carry each choice's index, as OpenAI interleaves them).

Every call goes to the one model planned (no fallback), so the choices come from one model and
are priced at its rates. They run together on the relay's gevent loop, each with its own
retries; if any of them fails, the request fails with it, as for a single call (the client gets
no completion with fewer choices than it asked for). Usage is the calls' sum: each read the
prompt, and Bedrock billed each.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any, Iterator

import gevent
from gevent.pool import Pool
from gevent.queue import Queue

from kong_plugins.bedrock.client import BedrockClient, Upstream
from kong_plugins.bedrock.retries import RetryBudget
from kong_plugins.context import RequestContext, Usage
from kong_plugins.formats import openai_chat
from kong_plugins.relay.attempts import Failure, call_with_fallbacks
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.clock import RelayClock
from kong_plugins.relay.responses import render_message, translator_for, upstream_chunks
from kong_plugins.relay.stream_failures import cancelled, failure_event


def call_choices(client: BedrockClient, budget: RetryBudget, call: UpstreamCall, request_id: str,
                 clock: RelayClock) -> list[Upstream] | Failure:
    """`call.choices` answers of `call`, in order, or the first failure."""
    began = time.perf_counter()
    outcomes = list(Pool(call.choices).imap(
        lambda _: call_with_fallbacks(client, budget, [call], request_id, RelayClock())[1], range(call.choices)))
    clock.add_waiting(time.perf_counter() - began)   # the calls overlap: their wall time, not their sum
    answers = [outcome for outcome in outcomes if not isinstance(outcome, Failure)]
    failure = next((outcome for outcome in outcomes if isinstance(outcome, Failure)), None)
    if failure is not None:
        for answer in answers:   # streams that did open are not read
            answer.raw.close()
        return failure
    return answers


def render_choices(call: UpstreamCall, answers: list[Upstream], ctx: RequestContext) -> bytes:
    """One OpenAI completion with a choice per answer; `ctx.usage` becomes their sum."""
    completions: list[dict[str, Any]] = []
    usages: list[Usage | None] = []
    for answer in answers:
        completions.append(json.loads(render_message(call, answer.content, ctx, answer.headers)))
        usages.append(ctx.usage)
    ctx.usage = usage = Usage.of_calls(usages)
    return json.dumps(openai_chat.with_choices(completions, usage), separators=(",", ":")).encode()


def merged_stream(call: UpstreamCall, answers: list[Upstream], ctx: RequestContext) -> Iterator[bytes]:
    """The choices' streams as one: each stream's chunks as they come, under its choice's index, then one usage
    chunk (their sum, if asked for) and [DONE]. A stream that breaks ends them all with the format's error event;
    a client that hangs up closes every Bedrock stream."""
    created = int(time.time())
    shadows = [copy.copy(ctx) for _ in answers]   # each stream notes its own usage and first token
    for index, shadow in enumerate(shadows):
        shadow.stream_choice, shadow.usage = (index, created), None
    translate = translator_for(call)
    pieces: Queue = Queue()

    def pump(index: int) -> None:
        try:
            for piece in translate(upstream_chunks(answers[index]), call, shadows[index]):
                pieces.put(piece)
        except Exception as exc:  # noqa: BLE001 - STREAM_FAILURES, or a fault of ours: either ends the stream
            pieces.put(exc)
        finally:
            pieces.put(_ENDED)

    pumps = [gevent.spawn(pump, index) for index in range(len(answers))]
    try:
        running = len(pumps)
        while running:
            began = time.perf_counter()
            piece = pieces.get()
            ctx.relay_clock.add_waiting(time.perf_counter() - began)   # waiting on Bedrock
            if piece is _ENDED:
                running -= 1
            elif isinstance(piece, BaseException):
                _gather(ctx, shadows, pumps)
                yield failure_event(ctx, call, piece)
                return
            else:
                yield piece
        _gather(ctx, shadows, pumps)
        yield b"".join(openai_chat.stream_end(call.response_id, created, call.client_model,
                                              ctx.usage if call.include_usage else None))
    except GeneratorExit:
        _gather(ctx, shadows, pumps)
        cancelled(ctx)
        raise
    finally:
        gevent.killall(pumps)
        for answer in answers:
            answer.raw.close()


_ENDED = object()


def _gather(ctx: RequestContext, shadows: list[RequestContext], pumps: list[gevent.Greenlet]) -> None:
    """Stop the streams still running (each notes what it produced as it stops), then put what they noted on
    the request's context: usage added up, the first token of any."""
    gevent.killall(pumps)
    for shadow in shadows:
        ctx.guardrail_intervened = ctx.guardrail_intervened or shadow.guardrail_intervened
        ctx.usage_estimated = ctx.usage_estimated or shadow.usage_estimated
        ctx.error_type = ctx.error_type or shadow.error_type
    ctx.usage = Usage.of_calls([shadow.usage for shadow in shadows])
    firsts = [shadow.first_token_at for shadow in shadows if shadow.first_token_at is not None]
    ctx.first_token_at = min(firsts) if firsts else ctx.first_token_at
