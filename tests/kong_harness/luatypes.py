"""Python stand-ins for the Lua values Kong 3.6.1 moves around.

Why: Kong's RPC bytes and JSON strings are produced from *Lua* values, and Lua
cannot tell an empty list from an empty dict, drops ``nil`` map values and
formats numbers with ``%.14g``.  The encoders (lua_msgpack, cjson) and the PDK
emulation share these helpers so the harness reproduces those quirks.
"""
from __future__ import annotations

import math
from typing import Any


class _Null:
    """``cjson.null`` / ``ngx.null`` (a lightuserdata distinct from nil)."""

    _inst = None

    def __new__(cls) -> "_Null":
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "null"

    def __bool__(self) -> bool:  # ngx.null is truthy in Lua
        return True


NULL = _Null()


class Binary(bytes):
    """A Lua string that mp_rpc.lua packs with ``packers['binary']`` (fix_raw)."""


class MsgpackHook:
    """A Lua function value placed in a packed table (mp_rpc.lua ``packers['function']``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# mp_rpc.lua mp_empty_array / mp_empty_map
EMPTY_ARRAY = MsgpackHook("mp_empty_array")
EMPTY_MAP = MsgpackHook("mp_empty_map")


class RawBinaryHook(MsgpackHook):
    """mp_rpc.lua fix_raw closure: packs its captured value as msgpack bin.

    If the captured value is nil the pack raises, exactly like
    ``#str`` on nil inside lua-MessagePack's ``packers['binary']``.
    """

    def __init__(self, value: Any) -> None:
        super().__init__("mp_raw")
        self.value = value


class LuaError(Exception):
    """A Lua ``error()`` raised by an emulated PDK function or runloop step."""


class NgxExit(Exception):
    """``ngx.exit()``: ends the current handler; the response was produced."""


class CoroutineYield(Exception):
    """``coroutine.yield()`` inside a delayed ``kong.response.exit``/``error``."""


def lua_number_str(n: float) -> str:
    """Lua 5.1/LuaJIT ``tostring(number)``: ``%.14g`` (``inf``/``nan`` spelled by C)."""
    if isinstance(n, bool):
        raise TypeError("boolean is not a number")
    if isinstance(n, int) and abs(n) < 10 ** 15:
        return str(n)
    f = float(n)
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if math.isnan(f):
        return "nan" if math.copysign(1.0, f) > 0 else "-nan"
    return "%.14g" % f


def lua_tostring(v: Any) -> str:
    """``tostring(v)`` for the value kinds that cross the RPC bridge."""
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return lua_number_str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, str):
        return v
    if v is NULL:
        return "userdata: NULL"
    return "table: 0x%08x" % (id(v) & 0xFFFFFFFF)


def lua_type(v: Any) -> str:
    """``type(v)`` as Lua would report it for a value decoded from msgpack."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, (str, bytes)):
        return "string"
    if isinstance(v, (list, tuple, dict)):
        return "table"
    if isinstance(v, MsgpackHook):
        return "function"
    return "userdata"


def is_lua_string(v: Any) -> bool:
    return isinstance(v, (str, bytes))


def as_text(v: Any) -> str:
    """A Lua string (str or bytes) as Python text."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return v


def lua_len(v: Any) -> int:
    """``#v`` for strings (byte length) and sequence tables."""
    if isinstance(v, str):
        return len(v.encode("utf-8", "surrogateescape"))
    if isinstance(v, bytes):
        return len(v)
    if isinstance(v, (list, tuple)):
        n = 0
        for item in v:
            if item is None:
                break
            n += 1
        return n
    if isinstance(v, dict):
        n = 0
        while (n + 1) in v:
            n += 1
        return n
    raise LuaError("attempt to get length of a %s value" % lua_type(v))


def lua_ipairs(v: Any) -> list:
    """Values of ``ipairs(v)`` (stops at the first nil)."""
    if isinstance(v, (list, tuple)):
        out = []
        for item in v:
            if item is None:
                break
            out.append(item)
        return out
    if isinstance(v, dict):
        out = []
        i = 1
        while i in v and v[i] is not None:
            out.append(v[i])
            i += 1
        return out
    return []


def from_msgpack(v: Any) -> Any:
    """Turn a value decoded from the wire into its Lua shape.

    lua-MessagePack ``unpack_map`` assigns ``t[k] = val`` so nil values vanish;
    arrays keep their holes (Python ``None`` entries).
    """
    if isinstance(v, dict):
        return {k: from_msgpack(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [from_msgpack(x) for x in v]
    return v
