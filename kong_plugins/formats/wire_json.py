"""JSON for request and response bodies: orjson, and the standard library for what orjson refuses.

Why: a Claude Code call carries 100-300 KB of JSON, which the plugins decode
(the guardrails, the API-format parsers) and the relay encodes again for
Bedrock. For 300 KB of source code the standard library spends about 1.2 ms
encoding and 0.65 ms decoding; orjson about a fifth of that (bench.prompt_size).
orjson is stricter: it refuses NaN and Infinity, lone surrogates and, when
encoding, integers beyond 64 bits. Whatever it refuses goes through `json`
exactly as before, so no document that decoded or encoded until now fails.
One difference stays: orjson reads an integer beyond 64 bits as a float, where
`json` keeps it exact (no Bedrock field takes such a number).

A client's body is read with `loads_text`, which refuses the one thing the fallback lets in that
no request may hold: a lone surrogate (`\\ud800` without its pair, or its UTF-8 bytes). No UTF-8 text
can carry one, so Bedrock refuses such a call, and retrying it cannot help. Only bodies orjson refused
are searched for one: the fast path costs nothing more.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """Decode a JSON document; raises ValueError (or UnicodeDecodeError, RecursionError) like json.loads."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


class LoneSurrogate(ValueError):
    """A string of the document holds half a UTF-16 surrogate pair, which is no Unicode text."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def loads_text(data: bytes | str) -> Any:
    """`loads` for a client's body: raises LoneSurrogate where a string (or a key) holds a lone surrogate."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        value = json.loads(data)
    if _holds_surrogate(value):
        raise LoneSurrogate("a string holds a lone surrogate")
    return value


def _holds_surrogate(value: Any) -> bool:
    """Whether any string in the decoded document holds a surrogate (json pairs the paired ones): a loop, not
    recursion, so a deeply nested document cannot exhaust the stack here either."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def dumps(obj: Any) -> bytes:
    """Compact JSON (no spaces) in UTF-8; what orjson cannot encode comes out as json.dumps writes it, ASCII."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, separators=(",", ":")).encode()
