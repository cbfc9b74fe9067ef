"""A Bedrock stream's first frame, read before its call counts as answered.

Bedrock may answer a stream with HTTP 200 and refuse it in its first frame: a throttlingException (or a Mantle
`event: error`) where a call not streamed gets a 429. Nothing has gone to the client then, so relay.attempts
treats such a refusal as the HTTP error it stands for: retried by the retry policy, then the next fallback model,
and only then the client's error. Events that say nothing (no payload; Mantle's pings and SSE comments) are read
past to the first frame that does, up to JUDGED_BYTES: an error after them has still reached no one. An error
Bedrock models no HTTP status for (an unknown `:error-code`) stands for no HTTP error: a Bedrock-native client gets
the stream as Bedrock sent it, which its SDK raises as Bedrock's own (botocore: an EventStreamError, a ClientError
with that code), where a 502 would have been retried by it; other clients get the gateway's 502. What was read is
put back in front of the stream (PrimedBody), byte for byte, so a healthy stream's first token waits for nothing
it did not wait for before (its first frame had to arrive anyway) and a Bedrock-native client still gets
Bedrock's own bytes. A refused stream's end is read (bedrock.transport.drain), so its connection serves the retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from botocore.eventstream import EventStreamBuffer, ParserError

from kong_plugins.bedrock.errors import NATIVE_STATUS, mantle_error_type
from kong_plugins.bedrock.transport import drain
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.sse import SseParser
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.stream_errors import STREAM_BROKE

UPSTREAM_READ = 16384
"""Bytes asked of Bedrock's stream per read: a frame or a few, each sent on as soon as it is read."""
JUDGED_BYTES = 65536
"""Bytes of events that say nothing read past before the stream is handed on unjudged."""
STREAM_ONLY_STATUS = {"ModelStreamErrorException": 424}
"""Stream-only errors' status, as Bedrock's service model gives it (InvokeModelWithResponseStream's
ModelStreamErrorException, 424, as ModelErrorException's: not retried, by the gateway nor by botocore)."""


@dataclass(frozen=True)
class Refusal:
    """A stream's first frame that is an error: the HTTP error Bedrock answers the same failure with."""

    status: int | None     # its HTTP status (None: an error Bedrock models no status for)
    upstream_type: str     # named as Bedrock's HTTP error names it (ThrottlingException), for retries and logs
    message: str | None    # Bedrock's words (passed on for validation errors only: bedrock.errors.client_message)


class _Undecided:
    """The first frame has not arrived whole yet."""


UNDECIDED = _Undecided()
Verdict = Refusal | None | _Undecided
"""A Refusal, None (the stream is answering, or its first bytes are not ours to judge), or UNDECIDED."""


class PrimedBody:
    """Bedrock's streamed body with its first reads taken already: they come first, unchanged, then the rest of
    the same read loop (or how it broke off), as if never taken."""

    def __init__(self, raw: Any, head: list[bytes], rest: Iterator[bytes], broke: BaseException | None) -> None:
        self._raw, self._head, self._rest, self._broke = raw, head, rest, broke

    def stream(self, amt: int = UPSTREAM_READ, decode_content: bool = False) -> Iterator[bytes]:
        """The body's bytes as they were read (`amt`, `decode_content`: the reads were made as upstream_chunks
        makes them)."""
        yield from self._head
        self._head = []
        if self._broke is not None:
            broke, self._broke = self._broke, None
            raise broke
        yield from self._rest

    def read(self) -> bytes:
        return b"".join(self.stream())

    def close(self) -> None:
        self._raw.close()


def refusal(call: UpstreamCall, upstream: Any) -> Refusal | None:
    """Read the first frame of a 200 stream: its Refusal (the stream is closed), or None, with `upstream.raw`
    replaced by a PrimedBody that hands on what was read. A stream that breaks off or ends before a whole first
    frame is not judged here: it fails for the client as it did (the failure is raised where it was)."""
    if call.operation == "openai-chat":   # not Bedrock: no exception frames
        return None
    judge = _sse_verdict(SseParser()) if call.is_mantle else _frame_verdict(EventStreamBuffer())
    chunks = upstream.raw.stream(UPSTREAM_READ, decode_content=False)
    head: list[bytes] = []
    verdict: Verdict = UNDECIDED
    broke: BaseException | None = None
    try:
        for chunk in chunks:
            head.append(chunk)
            verdict = judge(chunk)
            if not isinstance(verdict, _Undecided):
                break
    except STREAM_BROKE as exc:
        broke = exc
    except BaseException:
        upstream.raw.close()
        raise
    if isinstance(verdict, Refusal) and (verdict.status is not None or call.api is not ApiFormat.BEDROCK):
        drain(upstream.raw)   # the exception frame ended the stream: its connection is kept for the retry
        return verdict
    upstream.raw = PrimedBody(upstream.raw, head, chunks, broke)
    return None


def _read_past(first_saying: Callable[[bytes], Verdict]) -> Callable[[bytes], Verdict]:
    """`first_saying`, which stays UNDECIDED while the stream says nothing, judging only up to JUDGED_BYTES: then
    the stream is handed on unjudged."""
    read = 0

    def judge(chunk: bytes) -> Verdict:
        nonlocal read
        read += len(chunk)
        verdict = first_saying(chunk)
        return None if isinstance(verdict, _Undecided) and read >= JUDGED_BYTES else verdict
    return judge


def _frame_verdict(frames: EventStreamBuffer) -> Callable[[bytes], Verdict]:
    """Judges an AWS event stream by its first frame that says something: an exception or error frame
    (`:message-type` exception or error) refuses it, an event with a payload answers it; an event without one
    is read past."""
    def judge(chunk: bytes) -> Verdict:
        frames.add_data(chunk)
        try:
            for frame in frames:
                headers = frame.headers
                if headers.get(":message-type") != "event":
                    name = frame_error(headers)
                    upstream_type = name[:1].upper() + name[1:] or "StreamError"
                    return Refusal(bedrock_status(upstream_type), upstream_type,
                                   frame_message(frame.payload, headers))
                if not says_nothing(frame):
                    return None
        except (ParserError, ValueError, KeyError, TypeError):   # a broken frame (checksums good, headers not:
            return None   # botocore's KeyError, UnicodeDecodeError): the translator reports it as it always did
        return UNDECIDED
    return _read_past(judge)


def _sse_verdict(parser: SseParser) -> Callable[[bytes], Verdict]:
    """Judges a Mantle (Anthropic SSE) stream by its first event that says something: `event: error` refuses it,
    any other answers it; pings (and comment lines, which the parser drops) are read past."""
    def judge(chunk: bytes) -> Verdict:
        for name, data in parser.feed(chunk):
            try:
                event = json.loads(data)
            except ValueError:
                return None
            if not isinstance(event, dict):
                return None
            if name == "error" or event.get("type") == "error":
                return _mantle_refusal(event)
            if name != "ping" and event.get("type") != "ping":
                return None
        return UNDECIDED
    return _read_past(judge)


def _mantle_refusal(event: dict[str, Any]) -> Refusal:
    """A Mantle `event: error` (an Anthropic error object) as the Bedrock error it stands for."""
    error = event.get("error") if isinstance(event.get("error"), dict) else {}
    upstream_type = mantle_error_type(str(error.get("type") or ""))
    message = error.get("message")
    return Refusal(NATIVE_STATUS.get(upstream_type), upstream_type, message if isinstance(message, str) else None)


def bedrock_status(upstream_type: str) -> int | None:
    """The HTTP status Bedrock's service model gives this error (a stream-only one's too), None if it has none."""
    return NATIVE_STATUS.get(upstream_type) or STREAM_ONLY_STATUS.get(upstream_type)


def says_nothing(frame: Any) -> bool:
    """An event without a payload: nothing in it for a client, a translator or the usage (botocore hands it on as
    an empty event)."""
    return not frame.payload and frame.headers.get(":message-type") == "event"


def frame_error(headers: dict[str, Any]) -> str:
    """The error an exception frame (`:exception-type`, e.g. throttlingException) or error frame (`:error-code`)
    names, "" if neither."""
    return str(headers.get(":exception-type") or headers.get(":error-code") or "")


def frame_message(payload: bytes, headers: dict[str, Any]) -> str | None:
    """The message of an exception (its JSON payload's) or error frame (its `:error-message` header)."""
    try:
        value = json.loads(payload).get("message")
    except (ValueError, AttributeError):
        value = headers.get(":error-message")
    return value if isinstance(value, str) else None
