"""How a Bedrock stream fails once the client has its 200, and the last event that tells the client.

Shared by the relay's one-call streams and OpenAI's `n` streams (relay.choices).
"""

from __future__ import annotations

from botocore.eventstream import ParserError
from botocore.exceptions import HTTPClientError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from kong_plugins.bedrock.errors import client_message, kind_for, mantle_error_type
from kong_plugins.context import RequestContext
from kong_plugins.eventlog import log_event
from kong_plugins.formats.errors import ErrorKind, sse_error_event
from kong_plugins.formats.sse import MantleStreamError
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.responses import StreamException

STREAM_BROKE = (ReadTimeoutError, HTTPClientError, Urllib3Error, OSError)
"""How reading Bedrock's stream fails: botocore's and urllib3's own errors (a connection cut
mid-chunk is urllib3's ProtocolError, a stall past the read timeout urllib3's ReadTimeoutError)."""
STREAM_FAILURES = (StreamException, MantleStreamError, ParserError, ValueError, KeyError, TypeError, *STREAM_BROKE)


def failure_event(ctx: RequestContext, call: UpstreamCall, exc: BaseException) -> bytes:
    """The stream's last event for `exc` (one of STREAM_FAILURES), noted on `ctx` as its error type."""
    if isinstance(exc, StreamException):
        kind = kind_for(exc.exception_type[:1].upper() + exc.exception_type[1:], 0)
        ctx.error_type = exc.exception_type or "StreamError"
        return _last_event(ctx, call, kind, client_message(kind, exc.upstream_message))
    if isinstance(exc, MantleStreamError):
        kind = kind_for(mantle_error_type(exc.error_type), 0)
        ctx.error_type = exc.error_type
        return _last_event(ctx, call, kind, client_message(kind, exc.upstream_message))
    ctx.error_type = type(exc).__name__
    return _last_event(ctx, call, ErrorKind.UPSTREAM_ERROR, "The Bedrock stream broke off.")


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
