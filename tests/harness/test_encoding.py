"""Byte-level fidelity of the encoders Kong uses on the RPC socket and in JSON."""
from __future__ import annotations

import re
import uuid

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.kong_harness import cjson
from tests.kong_harness.dc_flatten import generate_uuid
from tests.kong_harness.lua_msgpack import pack
from tests.kong_harness.lua_pattern import lua_match
from tests.kong_harness.luatypes import EMPTY_ARRAY, EMPTY_MAP, NULL, Binary, LuaError, RawBinaryHook
from tests.kong_harness.pdk_registry import fix_mmap, get_step_method


@pytest.mark.parametrize("value,expected", [
    (None, b"\xc0"), (True, b"\xc3"), (False, b"\xc2"), (NULL, b"\xc0"),
    (0, b"\x00"), (127, b"\x7f"), (128, b"\xcc\x80"), (255, b"\xcc\xff"), (256, b"\xcd\x01\x00"),
    (65536, b"\xce\x00\x01\x00\x00"), (2 ** 32, b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
    (-1, b"\xff"), (-32, b"\xe0"), (-33, b"\xd0\xdf"), (-129, b"\xd1\xff\x7f"),
    (1.0, b"\x01"), (-0.0, b"\x00"), (1.5, b"\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"),
    (float("nan"), b"\xcb\xff\xf8\x00\x00\x00\x00\x00\x00"), (2.0 ** 53, b"\xcb\x43\x40\x00\x00\x00\x00\x00\x00"),
])
def test_scalars_follow_lua_messagepack(value, expected):
    assert pack(value) == expected


def test_strings_use_string_compat_never_str8():
    assert pack("a" * 31)[:1] == b"\xbf"
    assert pack("a" * 32)[:3] == b"\xda\x00\x20"  # str16, not str8 (0xd9)
    assert pack("a" * 70000)[:5] == b"\xdb\x00\x01\x11\x70"
    assert pack(b"\xff\xfe")[:1] == b"\xa2"  # any Lua string is a msgpack str
    assert pack(Binary(b"abc")) == b"\xc4\x03abc"
    assert pack(RawBinaryHook(b"x" * 300))[:3] == b"\xc5\x01\x2c"


def test_tables_array_iff_proper_sequence():
    assert pack([]) == b"\x90"
    assert pack({}) == b"\x90"  # empty table -> empty array
    assert pack([1, 2]) == b"\x92\x01\x02"
    assert pack({1: "a", 2: "b"}) == b"\x92\xa1a\xa1b"
    assert pack([1, None, 3]) == b"\x82\x01\x01\x03\x03"  # hole -> map with integer keys
    assert pack({"a": 1, "b": None}) == b"\x81\xa1a\x01"  # nil values vanish
    assert pack({0: "x", 1: "y"}) == b"\x82\x00\xa1x\x01\xa1y"
    assert pack([EMPTY_ARRAY, EMPTY_MAP]) == b"\x92\x90\x80"


def test_fix_raw_of_nil_fails_like_lua():
    with pytest.raises(LuaError, match="attempt to get length"):
        pack(RawBinaryHook(None))


def test_request_envelope_decodes_with_python_msgpack():
    raw = pack([0, 7, "plugin.HandleEvent", [{"InstanceId": 0, "EventName": "access"}]])
    assert msgpack.unpackb(raw) == [0, 7, "plugin.HandleEvent", [{"InstanceId": 0, "EventName": "access"}]]


def test_fix_mmap_and_step_methods():
    assert fix_mmap({"a": "1", "b": True, "c": ["x", "y"]}) == {"a": ["1"], "b": EMPTY_ARRAY, "c": ["x", "y"]}
    assert fix_mmap({}) is EMPTY_MAP
    assert get_step_method("kong.request.get_headers", {}) == "plugin.StepMultiMap"
    assert get_step_method("kong.client.get_consumer", None) == "plugin.StepConsumer"
    assert get_step_method("kong.client.get_credential", None) == "plugin.StepCredential"
    assert get_step_method("kong.router.get_route", {}) == "plugin.StepRoute"
    assert get_step_method("kong.request.get_header", None) == "plugin.Step"
    assert get_step_method("kong.ctx.shared.get", {"_method": "plugin.StepX"}) == "plugin.StepX"


def test_cjson_rules():
    assert cjson.encode({"url": "http://x/y"}) == '{"url":"http:\\/\\/x\\/y"}'
    assert cjson.encode({}) == "{}" and cjson.encode([]) == "{}"
    assert cjson.encode(cjson.JsonArray([])) == "[]"
    assert cjson.encode([1, None, 3]) == "[1,null,3]"
    assert cjson.encode(0.1) == "0.1" and cjson.encode(1e15) == "1e+15" and cjson.encode(3.0) == "3"
    assert cjson.encode("\x7f\x01") == '"\\u007f\\u0001"'
    assert cjson.encode(NULL) == "null"
    with pytest.raises(LuaError, match="excessively sparse"):
        cjson.encode({1: "a", 20: "b"})


def test_deterministic_ids_are_uuidv5_of_cache_keys():
    ns = uuid.uuid5(uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5"), "plugins")
    assert generate_uuid("plugins", "plugins:*:key-auth:::") == str(uuid.uuid5(ns, "plugins:*:key-auth:::"))
    assert uuid.UUID(generate_uuid("consumers", "alice")).version == 5


def test_lua_patterns():
    assert lua_match("GET", "^%u+$") and not lua_match("get", "^%u+$")
    assert lua_match("*.example.com", "^%*%.") and not lua_match("a*b.com", "^[^*]*$")
    assert not lua_match("/tmp/*x", "^[^*&%%\\`]+$")


_NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
"""Harness strings hold surrogates only as surrogateescape'd bytes (U+DC80-U+DCFF, sampled below)."""
_json_text = st.text(alphabet=st.one_of(st.sampled_from('/\\"\x7f\x00\x1f\n\t\u2028\udcff'), _NO_SURROGATES),
                     max_size=8)
_lua_scalars = st.one_of(st.none(), st.booleans(), st.just(NULL), _json_text, st.binary(max_size=8),
                         st.integers(min_value=-2 ** 60, max_value=2 ** 60),
                         st.floats(allow_nan=False, allow_infinity=False))
_lua_values = st.recursive(_lua_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=5).map(cjson.JsonArray),
    st.dictionaries(st.one_of(_json_text, st.integers(min_value=-3, max_value=12)), inner, max_size=5)),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_lua_values)
def test_cjson_fast_path_matches_the_rules(value):
    """encode()'s json-module fast path gives the rule-by-rule encoder's bytes, or its error."""
    try:
        expected = cjson._encode(value)
    except LuaError as exc:
        with pytest.raises(LuaError, match=re.escape(str(exc))):
            cjson.encode(value)
    else:
        assert cjson.encode(value) == expected


_msgpack_scalars = st.one_of(st.none(), st.booleans(), st.just(NULL), _json_text, st.binary(max_size=40),
                             st.integers(min_value=-2 ** 64, max_value=2 ** 64), st.floats(),
                             st.sampled_from([5e-324, 2.2e-308, -0.0, 2.0 ** 53, float("inf"), 1.5]),
                             st.text(_NO_SURROGATES, min_size=30, max_size=300), st.binary(min_size=200, max_size=70000).map(Binary),
                             st.sampled_from([EMPTY_ARRAY, EMPTY_MAP]))
_msgpack_values = st.recursive(_msgpack_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=20), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.one_of(_json_text, st.integers(min_value=-2, max_value=5), st.booleans()), inner,
                    max_size=18)),
    max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(_msgpack_values)
def test_msgpack_fast_path_matches_lua_messagepack_rules(value):
    """pack()'s C-packer fast path gives the rule-by-rule packer's bytes, or its error."""
    from tests.kong_harness import lua_msgpack

    buf = bytearray()
    try:
        lua_msgpack._pack(buf, value)
    except LuaError as exc:
        with pytest.raises(LuaError, match=re.escape(str(exc))):
            pack(value)
    else:
        assert pack(value) == bytes(buf)
