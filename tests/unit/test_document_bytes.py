"""Attached documents' bytes: base64 however a client writes it, text in the charset its byte-order mark names."""

import pytest

from kong_plugins.guardrails.document_bytes import decode_base64, decode_text, encode_text


@pytest.mark.parametrize("data, raw", [("QUJD", b"ABC"), ("QUI=", b"AB"), ("QUI", b"AB"), ("QQ", b"A"), ("QQ=", b"A"),
                                       ("QU\r\nJD\n", b"ABC"), (" Q U J D ", b"ABC"), ("-_8", b"\xfb\xff"),
                                       ("+/8=", b"\xfb\xff"), ("", b"")])
def test_base64_is_read_in_every_layout_and_alphabet_a_client_writes(data, raw):
    assert decode_base64(data) == raw


@pytest.mark.parametrize("data", ["Q", "QUJDR", "QQ==QQ==", "QUJD*", "QUJ\u00e9", "QU=JD"])
def test_what_is_no_base64_is_none(data):
    assert decode_base64(data) is None


@pytest.mark.parametrize("codec, mark", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                         ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"\x00\x00\xfe\xff")])
def test_a_byte_order_mark_names_the_charset_and_the_bytes_come_back_as_they_were(codec, mark):
    raw = mark + "Bestellung 5521 für Müller 😊\n".encode(codec)
    text, charset = decode_text(raw)
    assert text == "\ufeffBestellung 5521 für Müller 😊\n" and charset == codec
    assert encode_text(text, charset) == raw


def test_utf8_keeps_bytes_that_are_not_utf8_and_a_lone_surrogate_in_utf16_survives():
    latin1 = "Müller".encode("latin-1")
    text, charset = decode_text(latin1)
    assert charset == "utf-8" and encode_text(text, charset) == latin1
    lone = b"\xff\xfe" + "ab".encode("utf-16-le") + b"\x00\xd8" + "cd".encode("utf-16-le")
    text, charset = decode_text(lone)
    assert charset == "utf-16-le" and encode_text(text, charset) == lone


def test_text_that_could_not_be_written_back_whole_has_no_charset():
    assert decode_text(b"\xff\xfe" + "ab".encode("utf-16-le") + b"c") == ("\ufeffab\ufffd", None)
    assert decode_text("ab".encode("utf-16-le")) == ("a\x00b\x00", None)
