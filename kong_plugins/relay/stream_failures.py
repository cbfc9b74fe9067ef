"""How a Bedrock stream fails once the client has its 200, and the last event that tells the client.

Shared by the relay's one-call streams and OpenAI's `n` streams (relay.choices).
"""

from __future__ import annotations

from botocore.eventstream import ParserError

from kong_plugins.bedrock.errors import client_message, kind_for, mantle_error_type
from kong_plugins.context import RequestContext
from kong_plugins.eventlog import log_event
from kong_plugins.formats.errors import ErrorKind, Reply, render_error, sse_error_event
from kong_plugins.formats.sse import MantleStreamError
from kong_plugins.relay.attempts import READ_TIMEOUT, TIMED_OUT, Failure, error_reply
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.stream_errors import BROKE_OFF, STREAM_BROKE, STREAM_TIMED_OUT, StreamException

STREAM_FAILURES = (StreamException, MantleStreamError, ParserError, ValueError, KeyError, TypeError, *STREAM_BROKE)


def failure_event(ctx: RequestContext, call: UpstreamCall, exc: BaseException) -> bytes:
    """The stream's last event for `exc` (one of STREAM_FAILURES), noted on `ctx` as its error type."""
    return _last_event(ctx, call, *_failure(ctx, exc))


def failure_reply(ctx: RequestContext, call: UpstreamCall, exc: BaseException) -> Reply:
    """`exc` before the stream's first byte: the error as an HTTP status in the client's format, which its SDK
    retries as it would Bedrock's own (a throttle is a 429 with Retry-After, not a 200 with an error event). A
    stream refused in its very first frame never comes here: the gateway retried it and fell back, as for the HTTP
    error (relay.first_frame); this is a break, a silence or an error frame after a first frame that said nothing."""
    if isinstance(exc, STREAM_TIMED_OUT):   # Bedrock runs the call on and bills it: a retry would run it again
        ctx.error_type = READ_TIMEOUT        # as an unstreamed call the gateway stopped waiting for: a 504 (or
        return error_reply(call.api, Failure(ErrorKind.TIMEOUT, TIMED_OUT, READ_TIMEOUT))   # Bedrock's 408)
    kind, message = _failure(ctx, exc)
    return render_error(call.api, kind, message, retry_after=1 if kind is ErrorKind.RATE_LIMITED else None)


def _failure(ctx: RequestContext, exc: BaseException) -> tuple[ErrorKind, str]:
    """What `exc` means for the client, and what it tells it; noted on `ctx` as its error type."""
    if isinstance(exc, StreamException):
        kind = kind_for(exc.exception_type[:1].upper() + exc.exception_type[1:], 0)
        ctx.error_type = exc.exception_type or "StreamError"
        return kind, client_message(kind, exc.upstream_message)
    if isinstance(exc, STREAM_TIMED_OUT):   # Bedrock went silent past the read timeout: it runs the call on
        ctx.error_type = READ_TIMEOUT
        return ErrorKind.TIMEOUT, TIMED_OUT
    if isinstance(exc, MantleStreamError):
        kind = kind_for(mantle_error_type(exc.error_type), 0)
        ctx.error_type = exc.error_type
        return kind, client_message(kind, exc.upstream_message)
    ctx.error_type = type(exc).__name__
    return ErrorKind.UPSTREAM_ERROR, BROKE_OFF


def _last_event(ctx: RequestContext, call: UpstreamCall, kind: ErrorKind, message: str) -> bytes:
    """Its own failure event where the format has one, else the format's error."""
    if ctx.stream_failure is not None:
        return ctx.stream_failure(kind, message)
    return sse_error_event(call.api, kind, message)


def cancelled(ctx: RequestContext) -> None:
    """The client went away mid-stream: the Bedrock connection is closed (the caller's `finally`),
    which cancels the generation; usage so far stays on the context for metering."""
    ctx.error_type = "ClientDisconnected"
    log_event("stream_cancelled", request_id=ctx.request_id, model=ctx.model,
              output_tokens=ctx.usage.output if ctx.usage else 0)
