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

A client's body is read with `loads_text`, which refuses two things no request may hold. A lone
surrogate (`\\ud800` without its pair, or its UTF-8 bytes), which the fallback lets in: no UTF-8 text
can carry one, so Bedrock refuses such a call, and retrying it cannot help. Only bodies orjson refused
are searched for one. And nesting deeper than MAX_DEPTH, which a body could reach as far as ~1,000
levels and the gateway then failed to encode (a 503 from a plugin that crashed, not the client's 400).
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


MAX_DEPTH = 254
"""The deepest a client's body may nest: the deepest orjson encodes. Deeper, encoding fell back to `json`, whose
recursion (like the gateway's other walks of a body) ends in RecursionError some 1,000 levels down, after the
body was accepted. A real request nests some 20 levels, tool schemas included."""


class TooDeep(ValueError):
    """The document nests arrays or objects more than MAX_DEPTH levels deep."""

    def __init__(self) -> None:
        super().__init__(f"the document nests more than {MAX_DEPTH} levels deep")


_SURROGATE = re.compile("[\ud800-\udfff]")


def loads_text(data: bytes | str) -> Any:
    """`loads` for a client's body: raises LoneSurrogate where a string (or a key) holds a lone surrogate, and
    TooDeep where it nests more than MAX_DEPTH levels."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(data)
        except RecursionError:
            raise TooDeep() from None
        fault = _fault(value)
        if fault is not None:
            raise fault
        return value
    if isinstance(value, (dict, list)) and not _encodes(value):
        raise TooDeep()
    return value


def _encodes(value: Any) -> bool:
    """Whether orjson encodes a document it decoded: it refuses only one nested deeper than MAX_DEPTH (its
    recursion limit), so this is the depth check at C speed (a 300 KB body: about 0.1 ms)."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


def _fault(value: Any) -> ValueError | None:
    """What makes a document the fallback decoded no client body: a string (or a key) holding a surrogate (json
    pairs the paired ones) or nesting past MAX_DEPTH. A loop, not recursion, so no depth exhausts the stack here."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return LoneSurrogate("a string holds a lone surrogate")
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return TooDeep()
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return None


def dumps(obj: Any) -> bytes:
    """Compact JSON (no spaces) in UTF-8; what orjson cannot encode comes out as json.dumps writes it, ASCII."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, separators=(",", ":")).encode()
