"""AWS event-stream frames, encoded (botocore only ships a decoder).

Layout: prelude (total length, headers length, prelude CRC), headers, payload, message CRC.
All headers written are strings (type 7), which is all Bedrock uses. The emulator writes
Bedrock's streams with it; the relay, the one frame it adds to a native stream: the
exception that tells a client Bedrock's stream broke off.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

_STRING_TYPE = 7


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING_TYPE, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes, *, corrupt_crc: bool = False) -> bytes:
    """One complete frame; ``corrupt_crc`` flips the message CRC (fault injection)."""
    raw_headers = encode_headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    body = prelude + struct.pack(">I", _crc(prelude)) + raw_headers + payload
    crc = _crc(body) ^ (0xFFFFFFFF if corrupt_crc else 0)
    return body + struct.pack(">I", crc)


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def exception_frame(exception_type: str, payload: dict[str, Any]) -> bytes:
    """An exception message as Bedrock sends one after a stream's 200 (botocore raises it as EventStreamError)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json_bytes(payload))
