"""Byte-exact emulation of the ``lua-MessagePack`` packer as Kong 3.6.1 uses it.

Kong 3.6.1 pins ``lua-messagepack == 0.5.4`` (kong-3.6.1-0.rockspec) and patches
it in ``kong/runloop/plugin_servers/mp_rpc.lua`` (cjson.null -> nil,
``packers['function']`` calls the value, ``fix_mmap``/``fix_raw`` hooks).
The rules below mirror src/MessagePack.lua of the 0.5.x series (read from the
0.5.2 source; 0.5.3/0.5.4 only changed packaging/tests as far as the packing
rules go) with its defaults under LuaJIT:

* ``set_string'string_compat'``: fixstr (<=31), str16 (0xDA), str32 (0xDB) -
  never str8 (0xD9);
* ``set_integer'unsigned'``: positive ints use uint8/16/32/64, negative ones
  int8/16/32/64;
* ``set_number'double'``: a number is an integer iff ``floor(n) == n`` and
  ``-(2^53-1) < n < 2^53-1``; everything else is a float64 (NaN is packed as
  ``ff f8 00..``, subnormals flush to (signed) zero);
* ``set_array'without_hole'``: a table is an array iff all keys are positive
  numbers and ``max key == count``; otherwise a map.  The empty table is an
  empty *array*.
"""
from __future__ import annotations

import math
import struct
from typing import Any, Iterable

import msgpack

from .luatypes import (
    EMPTY_ARRAY,
    EMPTY_MAP,
    NULL,
    Binary,
    LuaError,
    MsgpackHook,
    RawBinaryHook,
)

MAXINTEGER = 9007199254740991
MININTEGER = -MAXINTEGER


def _pack_string(buf: bytearray, data: bytes) -> None:
    n = len(data)
    if n <= 0x1F:
        buf.append(0xA0 + n)
    elif n <= 0xFFFF:
        buf += b"\xda" + struct.pack(">H", n)
    elif n <= 0xFFFFFFFF:
        buf += b"\xdb" + struct.pack(">I", n)
    else:
        raise LuaError("overflow in pack 'string_compat'")
    buf += data


def _pack_binary(buf: bytearray, data: Any) -> None:
    if data is None:
        # packers['binary'] does `local n = #str` on nil
        raise LuaError("attempt to get length of local 'str' (a nil value)")
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    n = len(data)
    if n <= 0xFF:
        buf += bytes((0xC4, n))
    elif n <= 0xFFFF:
        buf += b"\xc5" + struct.pack(">H", n)
    else:
        buf += b"\xc6" + struct.pack(">I", n)
    buf += data


def _pack_unsigned(buf: bytearray, n: int) -> None:
    if n >= 0:
        if n <= 0x7F:
            buf.append(n)
        elif n <= 0xFF:
            buf += bytes((0xCC, n))
        elif n <= 0xFFFF:
            buf += b"\xcd" + struct.pack(">H", n)
        elif n <= 0xFFFFFFFF:
            buf += b"\xce" + struct.pack(">I", n)
        else:
            buf += b"\xcf" + struct.pack(">Q", n)
    else:
        if n >= -0x20:
            buf.append(0x100 + n)
        elif n >= -0x80:
            buf += bytes((0xD0, 0x100 + n))
        elif n >= -0x8000:
            buf += b"\xd1" + struct.pack(">h", n)
        elif n >= -0x80000000:
            buf += b"\xd2" + struct.pack(">i", n)
        else:
            buf += b"\xd3" + struct.pack(">q", n)


def _pack_double(buf: bytearray, n: float) -> None:
    if math.isnan(n):
        buf += b"\xcb\xff\xf8\x00\x00\x00\x00\x00\x00"
        return
    mant, expo = math.frexp(abs(n)) if not math.isinf(n) else (0.0, 0)
    if not math.isinf(n) and expo < -0x3FE and mant != 0.0:
        # lua-MessagePack flushes subnormals to zero, keeping the sign
        buf += bytes((0xCB, 0x80 if n < 0 else 0)) + b"\x00" * 7
        return
    buf += b"\xcb" + struct.pack(">d", n)


def _pack_number(buf: bytearray, n: Any) -> None:
    f = float(n)
    if not math.isinf(f) and not math.isnan(f) and math.floor(f) == f and MININTEGER < f < MAXINTEGER:
        _pack_unsigned(buf, int(f))
    else:
        _pack_double(buf, f)


def _table_items(tbl: Any) -> tuple[bool, list[tuple[Any, Any]]]:
    """Return (is_array, items) following set_array'without_hole'."""
    if isinstance(tbl, (list, tuple)):
        items = [(i + 1, v) for i, v in enumerate(tbl) if v is not None]
    else:
        items = [(k, v) for k, v in tbl.items() if v is not None and k is not None]
    n = len(items)
    max_key = 0
    is_map = False
    for k, _ in items:
        if isinstance(k, (int, float)) and not isinstance(k, bool) and k > 0:
            if k > max_key:
                max_key = k
        else:
            is_map = True
    if max_key != n:
        is_map = True
    if is_map:
        return False, items
    ordered = sorted(items, key=lambda kv: kv[0])
    return True, ordered


def _pack_map_header(buf: bytearray, n: int) -> None:
    if n <= 0x0F:
        buf.append(0x80 + n)
    elif n <= 0xFFFF:
        buf += b"\xde" + struct.pack(">H", n)
    else:
        buf += b"\xdf" + struct.pack(">I", n)


def _pack_array_header(buf: bytearray, n: int) -> None:
    if n <= 0x0F:
        buf.append(0x90 + n)
    elif n <= 0xFFFF:
        buf += b"\xdc" + struct.pack(">H", n)
    else:
        buf += b"\xdd" + struct.pack(">I", n)


def _pack(buf: bytearray, v: Any) -> None:
    if v is None or v is NULL:
        buf.append(0xC0)
    elif v is True:
        buf.append(0xC3)
    elif v is False:
        buf.append(0xC2)
    elif isinstance(v, Binary):
        _pack_binary(buf, bytes(v))
    elif isinstance(v, str):
        _pack_string(buf, v.encode("utf-8", "surrogateescape"))
    elif isinstance(v, (bytes, bytearray)):
        _pack_string(buf, bytes(v))
    elif isinstance(v, (int, float)):
        _pack_number(buf, v)
    elif isinstance(v, RawBinaryHook):
        _pack_binary(buf, v.value)
    elif v is EMPTY_ARRAY:
        _pack_array_header(buf, 0)
    elif v is EMPTY_MAP:
        _pack_map_header(buf, 0)
    elif isinstance(v, MsgpackHook):
        raise LuaError("unknown packer hook %r" % v)
    elif isinstance(v, (list, tuple, dict)):
        is_array, items = _table_items(v)
        if is_array:
            _pack_array_header(buf, len(items))
            for _, item in items:
                _pack(buf, item)
        else:
            _pack_map_header(buf, len(items))
            for k, item in items:
                _pack(buf, k)
                _pack(buf, item)
    else:
        raise LuaError("pack 'userdata' is unimplemented")


class _NotPlain(Exception):
    """A value the fast path leaves to the rule-by-rule packer."""


_c_packer = msgpack.Packer(use_bin_type=False, unicode_errors="surrogateescape")
"""msgpack's C packer: with use_bin_type=False it never uses str8 (string_compat) nor bin."""


def _plain(v: Any) -> Any:
    """`v` as a value msgpack's C packer packs byte for byte as lua-MessagePack does, or _NotPlain.

    Covers what goes over the socket on every call: string-keyed tables, dense
    arrays, strings, integers, booleans. Empty tables become empty lists (Lua's
    empty table packs as an array); a float that is an integer becomes one.
    Holes, number keys, binaries, NaN and subnormals go the slow way.
    """
    t = type(v)
    if t is str or t is bool:
        return v
    if t is int:
        if MININTEGER < v < MAXINTEGER:
            return v
        raise _NotPlain
    if t is dict:
        out = {}
        for k, x in v.items():
            if type(k) is not str:
                raise _NotPlain
            if x is not None:                   # nil values vanish from a Lua table
                out[k] = _plain(x)
        return out if out else []
    if t is list or t is tuple:
        if None in v:
            raise _NotPlain                     # holes: Lua's array rules
        return [_plain(x) for x in v]
    if v is None or v is NULL:
        return None
    if t is float:
        if math.isnan(v):
            raise _NotPlain
        if math.isinf(v):
            return v
        if math.floor(v) == v and MININTEGER < v < MAXINTEGER:
            return int(v)
        mant, expo = math.frexp(abs(v))
        if expo < -0x3FE and mant != 0.0:
            raise _NotPlain                     # flushed to zero by the slow path
        return v
    if t is bytes or t is bytearray:
        return v
    if v is EMPTY_ARRAY:
        return []
    if v is EMPTY_MAP:
        return {}
    raise _NotPlain


def pack(value: Any) -> bytes:
    """``msgpack.pack(value)`` as lua-MessagePack would produce it inside Kong.

    msgpack's C packer does the common case (every RPC the harness sends); the
    rule-by-rule packer the rest.
    """
    try:
        return _c_packer.pack(_plain(value))
    except _NotPlain:
        pass
    buf = bytearray()
    _pack(buf, value)
    return bytes(buf)


INCOMPLETE = object()
"""unpack_one's answer for bytes that are not exactly one whole message."""


def unpack_one(data: bytes) -> Any:
    """`data` decoded when it is exactly one message (a reply read in one piece), else INCOMPLETE.

    Most replies arrive whole in one read; an Unpacker for each costs more than the decoding."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    except ValueError:      # ExtraData (a notification before the reply), incomplete or malformed: the Unpacker
        return INCOMPLETE


class Unpacker:
    """Incremental decoder for replies (``mp_unpacker`` over ``receiveany``).

    Lua strings are byte strings; invalid UTF-8 in a msgpack ``str`` is kept via
    surrogateescape instead of failing, as Lua would not care.
    """

    def __init__(self) -> None:
        self._u = msgpack.Unpacker(
            raw=False, strict_map_key=False, unicode_errors="surrogateescape"
        )

    def feed(self, data: bytes) -> None:
        self._u.feed(data)

    def objects(self) -> Iterable[Any]:
        return self._u
