"""wire_json: orjson's speed, json's answers for everything orjson refuses."""

from __future__ import annotations

import json

import pytest

from kong_plugins.formats import wire_json

DOCUMENT = {"model": "haiku", "max_tokens": 32, "temperature": 0.7,
            "messages": [{"role": "user", "content": "déjà vu \u2013 \"quoted\"\n\ttabbed"}],
            "tools": [{"name": "t", "input_schema": {"type": "object", "properties": {}}}], "stream": False,
            "stop": None}


def test_an_ordinary_body_decodes_as_json_decodes_it():
    raw = json.dumps(DOCUMENT).encode()
    assert wire_json.loads(raw) == json.loads(raw) == DOCUMENT


def test_an_ordinary_body_encodes_compact_in_utf8():
    out = wire_json.dumps(DOCUMENT)
    assert out == json.dumps(DOCUMENT, separators=(",", ":"), ensure_ascii=False).encode()
    assert json.loads(out) == DOCUMENT


@pytest.mark.parametrize("raw, expected_repr", [
    (b'{"a": NaN}', "{'a': nan}"),
    (b'{"a": 1e400}', "{'a': inf}"),
    (b'{"a": "\\ud800"}', "{'a': '\\ud800'}"),
])
def test_what_orjson_refuses_decodes_as_before(raw, expected_repr):
    assert repr(wire_json.loads(raw)) == repr(json.loads(raw)) == expected_repr


def test_invalid_documents_fail_as_json_fails():
    with pytest.raises(ValueError):
        wire_json.loads(b'{"a": ')
    with pytest.raises(UnicodeDecodeError):
        wire_json.loads(b'{"a": "\xff"}')


@pytest.mark.parametrize("obj", [{"n": 2 ** 70}, {"text": "lone \ud800 surrogate"}])
def test_what_orjson_cannot_encode_comes_out_as_json_writes_it(obj):
    assert wire_json.dumps(obj) == json.dumps(obj, separators=(",", ":")).encode()
