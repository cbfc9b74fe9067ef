"""SseParser reads an SSE stream however its reads cut it: SSE lines may end in CR, LF or CRLF, and a CRLF cut
between two reads (CR at the end of one, LF at the start of the next) is still one line end."""

import pytest

from kong_plugins.formats.sse import SseParser

EVENTS = [("message_start", b'{"type":"message_start"}'), ("ping", b'{"type":"ping"}'),
          ("content_block_delta", b'{"type":"content_block_delta","delta":{"text":"hi"}}')]


def framed(line_end: bytes) -> bytes:
    return b"".join(b": keep-alive" + line_end + b"event: " + name.encode() + line_end + b"data: " + data
                    + line_end + line_end for name, data in EVENTS)


def parsed(reads: list[bytes]) -> list[tuple[str, bytes]]:
    parser = SseParser()
    return [event for read in reads for event in parser.feed(read)]


@pytest.mark.parametrize("line_end", [b"\r\n", b"\n", b"\r"])
def test_every_split_point_yields_the_same_events(line_end):
    stream = framed(line_end)
    for cut in range(len(stream) + 1):
        assert parsed([stream[:cut], stream[cut:]]) == EVENTS, f"cut at {cut}: {stream[:cut][-12:]!r}"


def test_byte_by_byte_crlf_reads_yield_each_event_when_its_blank_line_begins_to_end():
    parser = SseParser()
    stream = framed(b"\r\n")
    seen = [(at, event) for at in range(len(stream)) for event in parser.feed(stream[at:at + 1])]
    assert [event for _, event in seen] == EVENTS
    ends = [i + 1 for i in range(len(stream)) if stream[:i + 1].endswith(b"\r\n\r")]   # not held for its LF
    assert [at + 1 for at, _ in seen] == ends


def test_a_lone_cr_ending_a_read_ends_its_line_at_once():
    # a CR-framed event is due when its blank line's CR arrives, not when the next read comes
    assert parsed([b"event: ping\rdata: {}\r\r"]) == [("ping", b"{}")]
