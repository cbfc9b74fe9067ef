"""How a Bedrock stream fails, as the relay's modules tell one another: the exceptions alone, so that the WSGI
server and its last line of defence need not import the translators."""

from __future__ import annotations

from botocore.exceptions import HTTPClientError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

STREAM_TIMED_OUT = (ReadTimeoutError, Urllib3ReadTimeout)
"""The gateway stopped waiting: Bedrock goes on with the call, and bills it."""
STREAM_BROKE = (ReadTimeoutError, HTTPClientError, Urllib3Error, OSError)
"""How reading Bedrock's stream fails: botocore's and urllib3's own errors (a connection cut
mid-chunk is urllib3's ProtocolError, a stall past the read timeout urllib3's ReadTimeoutError)."""
BROKE_OFF = "The Bedrock stream broke off."


class StreamCut(Exception):
    """Bedrock's native stream broke inside a frame: no frame can follow the bytes the client has, so its
    response is cut too (relay.wsgi sends no last chunk), and its SDK reports a truncated stream."""


class StreamException(Exception):
    """Bedrock sent an exception (or error) frame after the stream started."""

    def __init__(self, exception_type: str, message: str | None) -> None:
        super().__init__(exception_type)
        self.exception_type = exception_type
        self.upstream_message = message
