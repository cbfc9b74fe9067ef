"""OpenAI Chat's `n` on Bedrock, which answers one choice per call: `n` calls at once, one completion
(streamed: one stream whose chunks carry each choice's index, as OpenAI interleaves them).

Every call goes to the one model planned (no fallback), so the choices come from one model and
are priced at its rates. They run together on the relay's gevent loop, each with its own
retries; if any of them fails, the request fails with it, as for a single call (the client gets
no completion with fewer choices than it asked for). Usage is the calls' sum: each read the
prompt, and Bedrock billed each, so a request that fails is still charged for the calls Bedrock
completed (billed_choices).
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any, Iterator, NamedTuple

from gevent.pool import Pool
from gevent.queue import Queue

from kong_plugins.bedrock.client import BedrockClient, Upstream
from kong_plugins.bedrock.retries import RetryBudget
from kong_plugins.context import RequestContext, Usage
from kong_plugins.formats import openai_chat, openai_chat_stream
from kong_plugins.metering.estimate import StreamedOutput, as_planned
from kong_plugins.relay.attempts import READ_TIMEOUT, Failure, call_with_fallbacks
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.clock import RelayClock
from kong_plugins.relay.keepalive import Watchdog, ping_for
from kong_plugins.relay.pump import ENDED, Pump
from kong_plugins.relay.responses import (decoder_for, note_served_tier, render_message, tier_named_for_openai,
                                          translator_for, upstream_chunks)
from kong_plugins.relay.stream_failures import cancelled


def call_choices(client: BedrockClient, budget: RetryBudget, call: UpstreamCall, request_id: str,
                 clock: RelayClock) -> list[Upstream | Failure]:
    """What each of `call.choices` calls of `call`, sent at once, came to, in order: an answer or a failure."""
    began = time.perf_counter()
    outcomes = list(Pool(call.choices).imap(
        lambda _: call_with_fallbacks(client, budget, [call], request_id, RelayClock())[1], range(call.choices)))
    clock.add_waiting(time.perf_counter() - began)   # the calls overlap: their wall time, not their sum
    return outcomes


def first_failure(outcomes: list[Upstream | Failure]) -> Failure | None:
    """The failure that fails the request (never fewer choices than asked for): a choice the gateway stopped
    waiting for if there is one, since Bedrock runs it on and bills it and its x-should-retry: false must reach
    the client (an SDK retrying another choice's 429 runs it again), else the first choice that failed."""
    failures = [outcome for outcome in outcomes if isinstance(outcome, Failure)]
    return next((f for f in failures if f.upstream_type == READ_TIMEOUT), failures[0] if failures else None)


class Billed(NamedTuple):
    """What Bedrock bills for the choices of a request one of them failed."""

    usage: Usage | None   # their usage added up; None: Bedrock billed none of them
    estimated: bool       # some of it is an estimate (metering.estimate)
    service_tier: str | None   # the tier Bedrock says served the last completed choice, if it said


def billed_choices(call: UpstreamCall, outcomes: list[Upstream | Failure], planned_input: int,
                   planned_output: int) -> Billed:
    """What Bedrock bills for every choice of a request that fails, though the client gets no completion: a
    non-streamed call it completed, the usage its answer reports; a stream that opened, which the gateway closes
    unread, its prompt and nothing streamed (metering.estimate.StreamedOutput, as any stream cut before its first
    token); a call the gateway stopped waiting for, as planned (as_planned); a call Bedrock refused, nothing.
    `planned_input` and `planned_output` are one call's."""
    usages: list[Usage] = []
    estimated, tier = False, None
    for outcome in outcomes:
        if isinstance(outcome, Failure):
            if outcome.upstream_type == READ_TIMEOUT:
                usages.append(as_planned(planned_input, planned_output))
                estimated = True
            continue
        if call.stream:
            usages.append(StreamedOutput().at_least(None, planned_input))
            estimated = True
            continue
        decoder = decoder_for(call)
        try:
            decoder.message(outcome.content)
        except (ValueError, KeyError, TypeError, AttributeError):   # unreadable: what it could have cost
            usages.append(as_planned(planned_input, planned_output))
            estimated = True
            continue
        usages.append(decoder.usage)
        tier = getattr(decoder, "service_tier", None) or tier
    return Billed(Usage.of_calls(usages) if usages else None, estimated, tier)


def charge_failed_choices(call: UpstreamCall, outcomes: list[Upstream | Failure], ctx: RequestContext) -> None:
    """A request one choice failed: the streams that opened are closed unread, and `ctx.usage` becomes what
    Bedrock bills for all the choices (billed_choices), so the failed request is charged for the calls it did
    make."""
    for outcome in outcomes:
        if not isinstance(outcome, Failure):
            outcome.raw.close()
    billed = billed_choices(call, outcomes, ctx.planned_input, ctx.planned_output)
    ctx.usage, ctx.usage_estimated = billed.usage, billed.estimated
    note_served_tier(billed.service_tier, ctx)


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
    chunk (their sum, if asked for) and [DONE]. A stream that breaks ends them all, raising its failure (the relay
    answers it: app._failing_as_bedrock_would); a client that hangs up closes every Bedrock stream. While all are
    silent, keep-alive comments (relay.keepalive)."""
    created = int(time.time())
    shadows = [copy.copy(ctx) for _ in answers]   # each stream notes its own usage and first token
    for index, shadow in enumerate(shadows):
        shadow.stream_choice, shadow.usage = (index, created), None
    translate = translator_for(call)
    pieces: Queue = Queue(maxsize=PIECES_AHEAD * len(answers))   # a client that stops reading holds Bedrock back
    pump = Pump(pieces)   # one greenlet per choice's stream; stopped, it puts nothing more (relay.pump)
    for answer, shadow in zip(answers, shadows):
        pump.start(translate(upstream_chunks(answer), call, shadow))
    ping = ping_for(call.api) if ctx.stream_ping_seconds > 0 else None
    watchdog = Watchdog(pieces, ping, ctx.stream_ping_seconds) if ping else None   # from the first bytes on
    try:
        running = len(answers)
        while running:
            began = time.perf_counter()
            piece = pieces.get()
            ctx.relay_clock.add_waiting(time.perf_counter() - began)   # waiting on Bedrock
            if piece is ENDED:
                running -= 1
            elif isinstance(piece, BaseException):   # the relay ends the stream (app._failing_as_bedrock_would)
                _gather(ctx, shadows, pump)
                raise piece
            else:
                yield piece
                if watchdog is not None:
                    watchdog.sent()
                    if piece and not watchdog.started:
                        watchdog.start()
        _gather(ctx, shadows, pump)
        head = openai_chat_stream.chunk_head(call.response_id, created, call.client_model, tier_named_for_openai(ctx))
        yield b"".join(openai_chat_stream.stream_end(head, ctx.usage if call.include_usage else None))
    except GeneratorExit:
        _gather(ctx, shadows, pump)
        cancelled(ctx)
        raise
    finally:
        if watchdog is not None:
            watchdog.stop()
        pump.stop()
        for answer in answers:
            answer.raw.close()


PIECES_AHEAD = 8
"""Chunks a choice's stream may read ahead of the client. Past them its pump waits, its socket's buffers fill and
Bedrock's stream waits too, as a single stream's does: unbounded, five stalled clients of 8 choices held 600 MB."""


def _gather(ctx: RequestContext, shadows: list[RequestContext], pump: Pump) -> None:
    """Stop the streams still running (each notes what it produced as it is closed), then put what they noted on
    the request's context: usage added up, the first token of any."""
    pump.stop()
    for shadow in shadows:
        ctx.guardrail_intervened = ctx.guardrail_intervened or shadow.guardrail_intervened
        ctx.usage_estimated = ctx.usage_estimated or shadow.usage_estimated
        ctx.error_type = ctx.error_type or shadow.error_type
        note_served_tier(shadow.service_tier, ctx)   # what Bedrock said served them, which is billed
    ctx.usage = Usage.of_calls([shadow.usage for shadow in shadows])
    firsts = [shadow.first_token_at for shadow in shadows if shadow.first_token_at is not None]
    ctx.first_token_at = min(firsts) if firsts else ctx.first_token_at
