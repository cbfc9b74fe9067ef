"""lua-cjson (OpenResty fork, as bundled with Kong 3.6.1) encoder/decoder rules.

Why: Kong JSON-encodes plugin configs for ``plugin.StartInstance``
(mp_rpc.lua ``cjson_encode(conf)``), ``kong.log.serialize`` results
(plugin_servers/init.lua exposed_api) and table bodies of
``kong.response.exit`` (kong/pdk/response.lua).  Those strings reach the plugin
or the client verbatim, so the quirks matter:

* numbers use ``%.14g`` (``1e+15``, ``0.1``, ``3``);
* ``/`` is escaped as ``\\/``, DEL as ``\\u007f``, control chars as ``\\u00XX``;
* an empty table encodes as ``{}`` (encode_empty_table_as_object) unless it
  carries ``cjson.array_mt`` (``JsonArray`` here);
* a table with only positive integer keys is an array (holes become null);
  too sparse arrays (max > 2*count and max > 10) raise;
* object key order follows Lua's ``next`` - not reproducible; insertion order
  is used instead (documented divergence).
"""
from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

from .luatypes import NULL, LuaError, MsgpackHook


class JsonArray(list):
    """A Lua table with ``cjson.array_mt``/``cjson.empty_array_mt``."""


_ESCAPES = {i: "\\u%04x" % i for i in range(0x20)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})
_ESCAPES.update({0x22: '\\"', 0x5C: "\\\\", 0x2F: "\\/", 0x7F: "\\u007f"})


_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\/\x7f]')


def _escape(s: str) -> str:
    """strbuf escaping of lua-cjson: only the characters in _ESCAPES change (non-ASCII passes through)."""
    if _NEEDS_ESCAPE.search(s) is None:
        return '"' + s + '"'
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[ord(m.group())], s) + '"'


def format_number(n: Any) -> str:
    """fpconv_g_fmt with encode_number_precision 14."""
    f = float(n)
    if math.isnan(f) or math.isinf(f):
        raise LuaError("Cannot serialise number: must not be NaN or Infinity")
    if isinstance(n, int) and not isinstance(n, bool) and abs(n) < 10 ** 14:
        return str(n)
    return "%.14g" % f


def _as_key(k: Any) -> str:
    if isinstance(k, bool) or not isinstance(k, (str, bytes, int, float)):
        raise LuaError("Cannot serialise table: table key must be a number or string")
    if isinstance(k, bytes):
        return k.decode("utf-8", "surrogateescape")
    if isinstance(k, (int, float)):
        return format_number(k)
    return k


def _encode_table(v: Any, depth: int) -> str:
    if depth > 1000:
        raise LuaError("Cannot serialise, excessive nesting (1001)")
    if isinstance(v, JsonArray):
        return "[" + ",".join(_encode(x, depth + 1) for x in v) + "]"
    if isinstance(v, (list, tuple)):
        items = [(i + 1, x) for i, x in enumerate(v) if x is not None]
    else:
        items = [(k, x) for k, x in v.items() if x is not None]
    if not items:
        return "{}"
    is_array = all(
        isinstance(k, (int, float)) and not isinstance(k, bool) and k >= 1 and float(k).is_integer()
        for k, _ in items
    )
    if is_array:
        max_key = int(max(k for k, _ in items))
        if max_key > len(items) * 2 and max_key > 10:
            raise LuaError("Cannot serialise table: excessively sparse array")
        by_key = {int(k): x for k, x in items}
        return "[" + ",".join(_encode(by_key.get(i), depth + 1) for i in range(1, max_key + 1)) + "]"
    return "{" + ",".join(_escape(_as_key(k)) + ":" + _encode(x, depth + 1) for k, x in items) + "}"


def _encode(v: Any, depth: int = 0) -> str:
    if v is None or v is NULL:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return format_number(v)
    if isinstance(v, bytes):
        return _escape(v.decode("utf-8", "surrogateescape"))
    if isinstance(v, str):
        return _escape(v)
    if isinstance(v, (list, tuple, dict)):
        return _encode_table(v, depth)
    if isinstance(v, MsgpackHook):
        raise LuaError("Cannot serialise function: type not supported")
    raise LuaError("Cannot serialise userdata: type not supported")


class _NotPlain(Exception):
    """A table the fast path leaves to the rule-by-rule encoder."""


_PLAIN_INT = 10 ** 14
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False,
                          allow_nan=False).encode
_RAW_MARK = "\ue000%s:%%d\ue001" % secrets.token_hex(8)
"""Stands in for a number json would spell differently; private-use characters and a per-process token."""


def _plain(v: Any, depth: int, raw: list[str]) -> Any:
    """`v` as a value json.dumps renders exactly as lua-cjson would, or _NotPlain.

    Covers what Kong encodes on every request (kong.log.serialize, configs):
    string-keyed tables, dense arrays, strings, integers, booleans. A float or
    a big integer becomes a marker for its %.14g text (in `raw`); int-keyed or
    holed tables and Lua-only values go the slow way.
    """
    t = type(v)
    if t is str:
        return v
    if t is int and -_PLAIN_INT < v < _PLAIN_INT:
        return v
    if t is dict:
        if depth > 900:
            raise _NotPlain
        out = {}
        for k, x in v.items():
            if x is not None:
                if type(k) is not str:
                    raise _NotPlain
                out[k] = _plain(x, depth + 1, raw)
        return out
    if t is list:
        if not v:
            return {}                       # encode_empty_table_as_object
        if depth > 900 or None in v:
            raise _NotPlain                 # holes: Lua's array rules
        return [_plain(x, depth + 1, raw) for x in v]
    if t is JsonArray:
        if depth > 900:
            raise _NotPlain
        return [None if x is None else _plain(x, depth + 1, raw) for x in v]
    if v is True or v is False:
        return v
    if v is NULL:
        return None
    if t is int or t is float:
        raw.append(format_number(v))        # raises LuaError on NaN/inf, as cjson does
        return _RAW_MARK % (len(raw) - 1)
    if t is bytes:
        return v.decode("utf-8", "surrogateescape")
    raise _NotPlain


def encode(v: Any) -> str:
    """``cjson.encode(v)``; raises LuaError where cjson would fail.

    json's C encoder does the common case (the harness encodes every request's
    log line twice); its output differs from lua-cjson only in `/` and DEL,
    which it leaves unescaped and which can only occur inside strings, and in
    numbers, which go in as markers.
    """
    raw: list[str] = []
    try:
        plain = _plain(v, 0, raw)
    except _NotPlain:
        return _encode(v)
    out = _dumps(plain).replace("/", "\\/").replace("\x7f", "\\u007f")
    for i, text in enumerate(raw):
        out = out.replace('"%s"' % (_RAW_MARK % i), text, 1)
    return out


def safe_encode(v: Any) -> tuple[str | None, str | None]:
    """``cjson.safe.encode(v)`` -> (json, err)."""
    try:
        return encode(v), None
    except LuaError as e:
        return None, str(e)


def decode(s: str | bytes, array_mt: bool = False) -> Any:
    """``cjson.decode``: JSON null becomes ``cjson.null``; arrays optionally tagged."""

    def conv(x: Any) -> Any:
        if x is None:
            return NULL
        if isinstance(x, list):
            items = [conv(i) for i in x]
            return JsonArray(items) if array_mt else items
        if isinstance(x, dict):
            return {k: conv(i) for k, i in x.items()}
        return x

    if isinstance(s, bytes):
        s = s.decode("utf-8", "surrogateescape")
    return conv(json.loads(s))


def safe_decode(s: str | bytes, array_mt: bool = False) -> tuple[Any, str | None]:
    try:
        return decode(s, array_mt), None
    except (ValueError, RecursionError) as e:
        return None, "Expected value but found invalid token: %s" % e
