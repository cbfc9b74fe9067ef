"""Turn a Bedrock response into the client's format, non-streamed or streamed.

Decoders (InvokeModel, Converse) yield events in the internal Anthropic
shape; renderers write them in the client's format. Streams are translated
frame by frame as bytes arrive, so the client's first token never waits for
the last.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

from botocore.eventstream import EventStreamBuffer, ParserError

from kong_plugins.bedrock import eventstream
from kong_plugins.bedrock.guardrail_usage import INVOKE_TRACE
from kong_plugins.bedrock.usage import usage_from_headers
from kong_plugins.context import RequestContext, Usage
from kong_plugins.formats import (anthropic, openai_chat, openai_chat_stream, openai_images, openai_passthrough, rerank,
                                   responses_render)
from kong_plugins.formats.image_models import count_drawn, read_images
from kong_plugins.formats.api import ApiFormat, token_count
from kong_plugins.formats.converse import GUARDRAIL_ACTION, ConverseStreamToAnthropic
from kong_plugins.formats.sse import AnthropicSseDecoder
from kong_plugins.metering.estimate import StreamedOutput
from kong_plugins.policy import service_tier
from kong_plugins.relay import guardrail_apply
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.attempts import READ_TIMEOUT, TIMED_OUT
from kong_plugins.relay.first_frame import UPSTREAM_READ, frame_error, frame_message, says_nothing
from kong_plugins.relay.stream_errors import BROKE_OFF, STREAM_BROKE, STREAM_TIMED_OUT, StreamCut, StreamException

Render = Callable[[dict[str, Any], "bytes | None"], Iterable[bytes]]


def decoder_for(call: UpstreamCall) -> Any:
    if call.is_mantle:
        return AnthropicSseDecoder()
    if call.upstream_is_converse:
        return ConverseStreamToAnthropic(model=call.client_model, message_id=call.response_id,
                                         stop_sequence=call.stop_sequence)
    return anthropic.InvokeStreamDecoder()


def render_message(call: UpstreamCall, content: bytes, ctx: RequestContext, headers: Any = None) -> bytes:
    """The client-format body of a non-streamed response (`headers`: Bedrock's response headers)."""
    if call.image is not None:
        return _images(call, content, ctx)
    if call.apply is not None:   # ApplyGuardrail: Bedrock's answer as it is, billed by its guardrail units
        return guardrail_apply.noted(content, ctx)
    if call.rerank is not None:   # billed per search unit, whatever the answer holds
        content = content if call.api is ApiFormat.BEDROCK else rerank.render(content, call.rerank)
        ctx.usage = Usage(search_units=call.rerank.search_units)
        return content
    if call.api is ApiFormat.BEDROCK:
        if call.operation != "count-tokens":
            decoder = decoder_for(call)
            note_guardrail(decoder.message(content), ctx)
            note_usage(decoder, ctx)
            if call.operation == "invoke" and ctx.usage == Usage():   # not Claude's body: Titan, Nova, embeddings
                ctx.usage = usage_from_headers(headers or {})
        return content   # Bedrock-native client: Bedrock's bytes unchanged
    if call.operation == "openai-chat":
        ctx.usage = openai_passthrough.usage_of(json.loads(content))
        return content
    if call.operation in ("count-tokens", "mantle-count-tokens"):
        ctx.usage = None
        counted = int(json.loads(content)["inputTokens" if call.operation == "count-tokens" else "input_tokens"])
        return json.dumps(token_count(call.api, counted)).encode()
    decoder = decoder_for(call)
    message = note_guardrail(decoder.message(content), ctx)
    note_usage(decoder, ctx)
    if call.api is ApiFormat.OPENAI and call.responses_api:
        response = _with_openai_tier(responses_render.response_from_message(
            message, decoder.usage, model=call.client_model, response_id=call.response_id, tools=call.tools,
            echo=ctx.response_echo), ctx)
        if ctx.keep_items is not None:
            ctx.keep_items(response)
        return json.dumps(response, separators=(",", ":")).encode()
    if call.api is ApiFormat.OPENAI:
        completion = openai_chat.completion_from_message(message, decoder.usage, model=call.client_model,
                                                         completion_id=call.response_id,
                                                         tools=call.tools)
        return json.dumps(_with_openai_tier(completion, ctx), separators=(",", ":")).encode()
    if call.upstream_is_converse:
        return json.dumps(message, separators=(",", ":")).encode()
    named = anthropic.answering_as(message, call.client_model)
    hidden = call.hidden_trace and INVOKE_TRACE in message
    if named is None and not hidden:
        return content   # Anthropic client, InvokeModel or Mantle: Bedrock's bytes unchanged
    named = named or message
    return json.dumps(_without_trace(named) if hidden else named, separators=(",", ":")).encode()


def _images(call: UpstreamCall, content: bytes, ctx: RequestContext) -> bytes:
    """An image model's answer: billed by the images it holds; a native client gets Bedrock's bytes, even
    when they hold none (Stability's filtered answer). NotDrawn: an OpenAI client's image was not drawn."""
    assert call.image is not None
    asked = call.image.asked
    if call.api is ApiFormat.BEDROCK:
        ctx.usage = Usage(images=(replace(asked, count=count_drawn(content)),))
        return content
    images = read_images(content)
    ctx.usage = Usage(images=(replace(asked, count=len(images)),))
    return openai_images.render(images, created=int(time.time()), response_format=call.image.response_format,
                                width=asked.width, height=asked.height)


INVOKE_METRICS = "amazon-bedrock-invocationMetrics"
"""Bedrock's counts on an InvokeModel stream's message_stop: read for usage, never sent to an Anthropic client (the
Anthropic API's message_stop is `{"type": "message_stop"}`)."""


def _without_trace(event: dict[str, Any]) -> dict[str, Any]:
    """Bedrock's guardrail trace taken out of an InvokeModel body or chunk the client did not ask to see it in."""
    return {key: value for key, value in event.items() if key != INVOKE_TRACE}


def note_usage(decoder: Any, ctx: RequestContext) -> None:
    """What a decoder read from Bedrock's answer: usage (with guardrail units) and, where it has one, the tier."""
    ctx.usage = decoder.usage
    note_served_tier(getattr(decoder, "service_tier", None), ctx)


def note_served_tier(tier: Any, ctx: RequestContext) -> None:
    """Bedrock's word on the tier that served the call (Converse's serviceTier, InvokeModel's response
    header): token-meter prices it, which may not be the tier asked for (a reservation overflows)."""
    if tier in service_tier.TIERS:
        ctx.service_tier = tier


def _with_openai_tier(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """OpenAI objects say which tier served them (`service_tier`)."""
    body["service_tier"] = tier_named_for_openai(ctx)
    return body


def tier_named_for_openai(ctx: RequestContext) -> str | None:
    """The tier as an OpenAI object or chunk names it now. A stream's chunks say it from the first on, as OpenAI's
    do: the tier the call asked Bedrock for (InvokeModel's response header when it names another), until
    ConverseStream's last event (metadata) says which served it."""
    return service_tier.openai_name(ctx.service_tier)


def note_guardrail(event: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """Note on the context that a Bedrock guardrail blocked the call (metrics, the request's log line)."""
    if event.get(GUARDRAIL_ACTION) == "INTERVENED":
        ctx.guardrail_intervened = True
    return event


def renderer_for(call: UpstreamCall, ctx: RequestContext) -> Render:
    if call.api is ApiFormat.OPENAI and call.responses_api:
        # its items are kept before the client sees the stream end, so the client's next call, which may name
        # them, cannot arrive first
        events = responses_render.EventRenderer(model=call.client_model, response_id=call.response_id,
                                                tools=call.tools, echo=ctx.response_echo, on_final=ctx.keep_items)
        ctx.stream_failure = lambda kind, message: events.failed(kind, message, ctx.usage, tier_named_for_openai(ctx))
        return lambda event, raw: events.render(event, ctx.usage, tier_named_for_openai(ctx))
    if call.api is ApiFormat.OPENAI:
        choice, created = ctx.stream_choice or (None, None)
        chunks = openai_chat_stream.ChunkRenderer(model=call.client_model, completion_id=call.response_id,
                                           include_usage=call.include_usage, tools=call.tools, choice=choice,
                                           created=created)
        return lambda event, raw: chunks.render(event, ctx.usage, tier_named_for_openai(ctx))
    bedrock_only = frozenset({INVOKE_METRICS, INVOKE_TRACE} if call.hidden_trace else {INVOKE_METRICS})

    def render(event: dict[str, Any], raw: bytes | None) -> tuple[bytes]:
        named = anthropic.answering_as(event, call.client_model)
        if named is not None:
            event, raw = named, None
        if bedrock_only.isdisjoint(event):
            return (anthropic.sse_event(event, raw),)
        return (anthropic.sse_event({key: value for key, value in event.items() if key not in bedrock_only}),)
    return render


END_OF_READ = b"<end of an upstream read>"
"""What the translators below yield after the pieces made from one upstream read (compared by
identity; `per_read` consumes it)."""


def per_read(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """One write for everything translated from one upstream read, instead of one per event.

    A read from Bedrock often holds several events (and a fast stream all of them):
    written one by one, each would be a send, a chunk and a wake-up for Kong and the
    client. Nothing waits for more data: what a read brought goes out at once, and
    what came before an error goes out before the error is raised.
    """
    pending: list[bytes] = []
    try:
        for piece in pieces:
            if piece is not END_OF_READ:
                pending.append(piece)
            elif pending:
                joined, pending = b"".join(pending), []
                yield joined
    except GeneratorExit:
        raise
    except BaseException:
        if pending:
            yield b"".join(pending)
        raise
    if pending:
        yield b"".join(pending)


def stream_events(raw_chunks: Iterable[bytes], call: UpstreamCall, ctx: RequestContext) -> Iterator[bytes]:
    """Client-format stream bytes from Bedrock event-stream bytes (one piece per read); usage kept on `ctx`."""
    return per_read(_events(raw_chunks, call, ctx))


def _events(raw_chunks: Iterable[bytes], call: UpstreamCall, ctx: RequestContext) -> Iterator[bytes]:
    decoder = decoder_for(call)
    render = renderer_for(call, ctx)
    frames = EventStreamBuffer()
    streamed = StreamedOutput()
    try:
        for chunk in raw_chunks:
            frames.add_data(chunk)
            for frame in frames:
                headers = frame.headers
                if headers.get(":message-type") != "event":
                    raise StreamException(frame_error(headers), frame_message(frame.payload, headers))
                if says_nothing(frame):
                    continue
                for event, raw in decoder.feed(str(headers.get(":event-type")), frame.payload):
                    note_usage(decoder, ctx)   # the tier too, which the chunks after ConverseStream's metadata say
                    _seen(event, streamed, ctx)
                    yield from render(note_guardrail(event, ctx), raw)
            yield END_OF_READ
        note_usage(decoder, ctx)
    finally:
        _unfinished(streamed, ctx)


def stream_openai_passthrough(raw_chunks: Iterable[bytes], call: UpstreamCall,
                              ctx: RequestContext) -> Iterator[bytes]:
    """An OpenAI-compatible provider's chunks, unchanged (one piece per read), usage read from its final chunk."""
    return per_read(_openai_chunks(raw_chunks, call, ctx))


def _openai_chunks(raw_chunks: Iterable[bytes], call: UpstreamCall, ctx: RequestContext) -> Iterator[bytes]:
    chunks = openai_passthrough.ChunkPassthrough(client_wants_usage=call.include_usage)
    try:
        for raw in raw_chunks:
            for event in chunks.feed(raw):
                if ctx.first_token_at is None and b'"content"' in event:
                    ctx.first_token_at = time.monotonic()
                yield event
            ctx.usage = chunks.usage
            yield END_OF_READ
    finally:
        _unfinished(chunks.streamed, ctx)


def stream_sse(raw_chunks: Iterable[bytes], call: UpstreamCall, ctx: RequestContext) -> Iterator[bytes]:
    """Client-format stream bytes from Bedrock Mantle's Anthropic SSE (one piece per read); usage kept on `ctx`.

    Raises formats.sse.MantleStreamError on an `event: error`.
    """
    return per_read(_mantle_events(raw_chunks, call, ctx))


def _mantle_events(raw_chunks: Iterable[bytes], call: UpstreamCall, ctx: RequestContext) -> Iterator[bytes]:
    decoder = AnthropicSseDecoder()
    render = renderer_for(call, ctx)
    streamed = StreamedOutput()
    try:
        for chunk in raw_chunks:
            for event, raw in decoder.feed_bytes(chunk):
                ctx.usage = decoder.usage
                _seen(event, streamed, ctx)
                yield from render(event, raw)
            yield END_OF_READ
        ctx.usage = decoder.usage
    finally:
        _unfinished(streamed, ctx)


def _seen(event: dict[str, Any], streamed: StreamedOutput, ctx: RequestContext) -> None:
    """An Anthropic-shaped stream event: counted for a cut stream's charge, the first token's time noted."""
    streamed.note(event)
    if ctx.first_token_at is None and event.get("type") == "content_block_delta":
        ctx.first_token_at = time.monotonic()


def _unfinished(streamed: StreamedOutput, ctx: RequestContext) -> None:
    """A stream that ended before its last event (hang-up, break): charged what it produced (StreamedOutput),
    and marked so when that is more than Bedrock reported (a stream whose events are not Anthropic's, such as
    a Bedrock-native Titan stream, has no message_stop, but reports its usage)."""
    if streamed.finished:
        return
    reported = ctx.usage or Usage()
    estimated = streamed.at_least(reported, ctx.planned_input)
    if estimated != reported:
        ctx.usage, ctx.usage_estimated = estimated, True


def upstream_chunks(upstream: Any) -> Iterator[bytes]:
    """Bedrock's streamed body as it arrives, never content-decoded (event-stream frames are binary); the first
    frame, read before the call counted as answered (relay.first_frame), comes first."""
    return upstream.raw.stream(UPSTREAM_READ, decode_content=False)


def translator_for(call: UpstreamCall) -> Callable[[Iterable[bytes], UpstreamCall, RequestContext], Iterator[bytes]]:
    """What turns this call's Bedrock stream into what its client reads."""
    if call.api is ApiFormat.BEDROCK:
        return passthrough_events
    if call.is_mantle:
        return stream_sse
    return stream_openai_passthrough if call.operation == "openai-chat" else stream_events


def passthrough_events(raw_chunks: Iterable[bytes], call: UpstreamCall, ctx: RequestContext) -> Iterator[bytes]:
    """Bedrock-native streams: upstream bytes go out unchanged while usage is read from them.

    Claude Code fails with "Truncated event message received" when a proxy
    rewrites the stream, so frames are never re-encoded. Exception frames pass
    through too; they are only noted for metrics. If Bedrock's stream breaks
    off between frames, one exception frame of our own ends it, so the client's
    SDK raises, as it would for Bedrock's own (a clean end read as a short
    answer, and Claude Code did not fall back); inside a frame, StreamCut.
    """
    decoder = decoder_for(call)
    frames = EventStreamBuffer()
    decoding = True
    streamed = StreamedOutput()
    sent = framed = 0   # bytes passed on, and of them those that complete a frame
    chunks = iter(raw_chunks)
    try:
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except STREAM_BROKE as exc:
                timed_out = isinstance(exc, STREAM_TIMED_OUT)
                ctx.error_type = READ_TIMEOUT if timed_out else type(exc).__name__
                if not decoding or framed != sent:
                    raise StreamCut() from None
                yield _broke_off_frame(call, timed_out)
                return
            yield chunk
            sent += len(chunk)
            if decoding:
                frames.add_data(chunk)
                try:
                    framed += _decoded(frames, decoder, streamed, ctx)
                except (ParserError, ValueError, KeyError, TypeError):
                    decoding = False     # the client's SDK will report the broken frame itself
                    ctx.error_type = "MalformedStream"
    finally:
        _unfinished(streamed, ctx)


def _broke_off_frame(call: UpstreamCall, timed_out: bool) -> bytes:
    """Our exception frame for a Bedrock stream that ended between frames. A silence past the read timeout is
    InvokeModelWithResponseStream's own modelTimeoutException (ConverseStream has none: its internal error)."""
    if not timed_out:
        return eventstream.exception_frame("internalServerException", {"message": BROKE_OFF})
    kind = "modelTimeoutException" if call.operation.startswith("invoke") else "internalServerException"
    return eventstream.exception_frame(kind, {"message": TIMED_OUT})


def _decoded(frames: EventStreamBuffer, decoder: Any, streamed: StreamedOutput, ctx: RequestContext) -> int:
    """Read the whole frames `frames` holds into usage and stream notes; their bytes."""
    size = 0
    for frame in frames:
        size += frame.prelude.total_length
        headers = frame.headers
        if headers.get(":message-type") != "event":
            ctx.error_type = frame_error(headers) or "stream"
            continue
        if says_nothing(frame):
            continue
        for event, _ in decoder.feed(str(headers.get(":event-type")), frame.payload):
            _seen(event, streamed, ctx)
            note_guardrail(event, ctx)
        note_usage(decoder, ctx)
    return size
