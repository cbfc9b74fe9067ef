"""A stream's first frame, read before its call counts as answered (relay.first_frame), whatever the reads' sizes.

Bedrock's body is stood in for by the reads it arrives in (the e2e tests cover the emulator's whole frames)."""

import binascii
import struct
from typing import Iterator

import pytest
from botocore.exceptions import ReadTimeoutError

from kong_plugins.bedrock.eventstream import exception_frame
from kong_plugins.emulator.eventstream import event_frame
from kong_plugins.formats.api import ApiFormat
from kong_plugins.relay.call import UpstreamCall
from kong_plugins.relay.first_frame import Refusal, refusal
from kong_plugins.relay.responses import upstream_chunks

START = event_frame("messageStart", {"role": "assistant"})
DELTA = event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})
THROTTLE = exception_frame("throttlingException", {"message": "slow down"})


class Reads:
    """A streamed body that arrives in the given reads, then ends (or breaks off with `broke`)."""

    def __init__(self, reads: list[bytes], broke: Exception | None = None) -> None:
        self.reads, self.broke, self.closed, self.taken = reads, broke, False, 0

    def stream(self, amt: int, decode_content: bool = False) -> Iterator[bytes]:
        for read in self.reads:
            self.taken += 1
            yield read
        if self.broke is not None:
            raise self.broke

    def read(self, amt: int) -> bytes:
        """What is left of the body, as urllib3's response reads it (a refused stream's end, before its close)."""
        return b""

    def close(self) -> None:
        self.closed = True


class Response:
    def __init__(self, raw: Reads) -> None:
        self.status_code, self.headers, self.raw = 200, {}, raw


def _call(operation: str = "converse-stream", api: ApiFormat = ApiFormat.BEDROCK) -> UpstreamCall:
    return UpstreamCall(api=api, operation=operation, model_name="haiku", client_model="haiku", model_id="m",
                        region="us-east-1", body=b"{}", stream=True)


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_a_first_frame_exception_in_any_reads_is_the_http_error_it_stands_for(size):
    raw = Reads(_split(THROTTLE, size))
    assert refusal(_call(), Response(raw)) == Refusal(429, "ThrottlingException", "slow down")
    assert raw.closed


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_a_healthy_streams_reads_are_handed_on_unchanged_and_read_once(size):
    reads = _split(START + DELTA + START, size)
    raw = Reads(list(reads))
    upstream = Response(raw)
    assert refusal(_call(), upstream) is None
    assert raw.taken == -(-len(START) // size)        # the reads that hold the first frame, no more
    assert list(upstream_chunks(upstream)) == reads   # the same reads, in the same order, each once
    assert raw.taken == len(reads) and not raw.closed


def test_an_exception_after_the_first_frame_is_not_judged_here():
    upstream = Response(Reads([START + THROTTLE]))
    assert refusal(_call(), upstream) is None
    assert b"".join(upstream_chunks(upstream)) == START + THROTTLE


def test_a_stream_that_breaks_off_before_a_whole_first_frame_breaks_where_it_did():
    broke = ReadTimeoutError(endpoint_url="https://bedrock")
    upstream = Response(Reads([START[:5]], broke))
    assert refusal(_call(), upstream) is None
    chunks = upstream_chunks(upstream)
    assert next(chunks) == START[:5]
    with pytest.raises(ReadTimeoutError):
        next(chunks)


def test_a_mantle_error_event_in_any_reads_is_the_http_error_it_stands_for():
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    upstream = Response(Reads(_split(error, 9)))
    assert refusal(_call("mantle-messages", ApiFormat.ANTHROPIC), upstream) == \
        Refusal(503, "ServiceUnavailableException", "Overloaded")
    start = b'event: message_start\ndata: {"type":"message_start","message":{}}\n\n'
    healthy = Response(Reads(_split(start, 9)))
    assert refusal(_call("mantle-messages", ApiFormat.ANTHROPIC), healthy) is None
    assert b"".join(upstream_chunks(healthy)) == start


def _frame(headers: bytes, payload: bytes) -> bytes:
    """An event-stream frame with good CRCs around whatever headers and payload it is given."""
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    return prelude + headers + payload + struct.pack(">I", binascii.crc32(prelude + headers + payload))


@pytest.mark.parametrize("headers", [b"\x0d:message-type\x2a", b"\x0d:message-type\x07\x00\x02\xff\xfe"],
                         ids=["unknown header type", "header not utf-8"])
def test_a_first_frame_botocore_cannot_read_is_handed_on_for_the_translator_to_report(headers):
    """Whole, its checksums good, its headers unreadable (botocore raises KeyError or UnicodeDecodeError, not a
    ParserError): not judged here, so a native client gets Bedrock's bytes as passthrough_events hands them on
    (it raised out of the attempt: the relay's 502, the bytes never sent)."""
    broken = _frame(headers, b"{}")
    upstream = Response(Reads([broken + START]))
    assert refusal(_call(), upstream) is None
    assert b"".join(upstream_chunks(upstream)) == broken + START
