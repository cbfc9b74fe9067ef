"""Unicode digits, spaces and dashes seen as their ASCII selves, so the detectors' ASCII patterns find them.

A card number copied from a web page, an e-mail or a Word file often has no-break or thin spaces
(`4111\\u00a01111 ...`) or en dashes between its groups; Japanese and Chinese input methods type
full-width digits (`４１１１...`); an invisible soft hyphen or zero-width space can sit between two
digits. RE2's `\\d` and `\\s` are ASCII, so none of those was a finding. `fold` rewrites each such
character as one ASCII byte. One character stays one character, so a finding's character offsets
are the original text's, and a redaction replaces exactly what the client sent.
"""

from __future__ import annotations

import re2

_DIGIT_ZEROS = (
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0,
    0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50,
    0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136,
    0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50,
    0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0,
    0x1E950, 0x1FBF0)
"""The zero of every run of ten Unicode decimal digits (category Nd) beyond ASCII, except the full-width
one, which comes with the full-width forms below (a test checks these against `unicodedata`)."""
_SPACES = (0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)
"""Unicode space separators (category Zs)."""
_DASHES = (0x58A, 0x5BE, 0x1400, 0x1806, *range(0x2010, 0x2016), 0x2E17, 0x2E1A, 0x2E3A, 0x2E3B, 0x2E40,
           0x2E5D, 0x301C, 0x3030, 0x30A0, 0xFE31, 0xFE32, 0xFE58, 0xFE63, 0x10EAD, 0x2212)
"""Unicode dash punctuation (category Pd, less the full-width hyphen-minus) and the minus sign."""
_INVISIBLE = (0xAD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)
"""Soft hyphen, zero-width space, joiners, word joiner and BOM: a space, which the patterns already
allow between a card's digits (removing them would move every later offset)."""
_FULL_WIDTH = range(0xFF01, 0xFF5F)
"""Full-width forms of ASCII `!` to `~`, the same code points less 0xFEE0."""


def _table() -> dict[bytes, bytes]:
    table = {chr(zero + d).encode(): str(d).encode() for zero in _DIGIT_ZEROS for d in range(10)}
    table.update({chr(cp).encode(): b" " for cp in (*_SPACES, *_INVISIBLE)})
    table.update({chr(cp).encode(): b"-" for cp in _DASHES})
    table.update({chr(cp).encode(): bytes([cp - 0xFEE0]) for cp in _FULL_WIDTH})
    return table


ASCII = _table()
"""Each folded character's UTF-8 bytes -> the one ASCII byte it is seen as."""
_FOLDED = re2.compile(("[" + "".join(f"\\x{{{ord(c.decode()):x}}}" for c in ASCII) + "]").encode())


def fold(data: bytes) -> bytes:
    """UTF-8 `data` with every character in ASCII replaced by its byte; `data` itself when none occurs
    (ASCII text costs one scan in C)."""
    if data.isascii():
        return data
    pieces, last = [], 0
    for match in _FOLDED.finditer(data):
        pieces += (data[last:match.start()], ASCII[match.group()])
        last = match.end()
    if not pieces:
        return data
    pieces.append(data[last:])
    return b"".join(pieces)
