"""Unicode digits, spaces and dashes seen as their ASCII selves, and invisible characters not at all, so the
detectors' ASCII patterns find what a reader sees.

A card number copied from a web page, an e-mail or a Word file often has no-break or thin spaces
(`4111\\u00a01111 ...`) or en dashes between its groups; Japanese and Chinese input methods type
full-width digits (`４１１１...`). RE2's `\\d` and `\\s` are ASCII, so none of those was a finding. `fold`
rewrites each such character as one ASCII byte. Characters nobody sees (format characters such as
soft hyphens, zero-width spaces, bidi marks and Unicode tags, variation selectors, control characters
such as NUL) are dropped: any number of them can sit between two digits, which a space per character
would not survive (`4\\u200e\\u200e\\u200e111...`), and a word they split is read whole. A dropped
character's place is kept (`Folded.dropped`), so a finding's character offsets are the original text's,
and a redaction replaces exactly what the client sent.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from typing import NamedTuple

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
_INVISIBLE = (
    0xAD, 0x34F, *range(0x600, 0x606), 0x61C, 0x6DD, 0x70F, 0x890, 0x891, 0x8E2, 0x115F, 0x1160, 0x17B4, 0x17B5,
    *range(0x180B, 0x1810), *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0x3164,
    *range(0xFE00, 0xFE10), 0xFEFF, 0xFFA0, *range(0xFFF0, 0xFFFC), 0x110BD, 0x110CD, *range(0x13430, 0x13440),
    *range(0x1BCA0, 0x1BCA4), *range(0x1D173, 0x1D17B), *range(0xE0000, 0xE1000),
    *range(0x00, 0x09), *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0))
"""Dropped: Unicode's format characters (category Cf: soft hyphen, zero-width space and joiners, bidi marks,
embeddings, overrides and isolates, word joiner, BOM, tags), its other default-ignorable code points
(combining grapheme joiner, variation selectors, Hangul fillers), and the control characters other than tab,
line and page breaks (NUL, BEL, ESC, DEL, C1's; its next-line, a line break, stays)."""
_FULL_WIDTH = range(0xFF01, 0xFF5F)
"""Full-width forms of ASCII `!` to `~`, the same code points less 0xFEE0."""
_ASCII_INVISIBLE = bytes(cp for cp in _INVISIBLE if cp < 0x80)
"""The dropped characters ASCII text may hold."""


def _table() -> dict[bytes, bytes]:
    table = {chr(zero + d).encode(): str(d).encode() for zero in _DIGIT_ZEROS for d in range(10)}
    table.update({chr(cp).encode(): b" " for cp in _SPACES})
    table.update({chr(cp).encode(): b"-" for cp in _DASHES})
    table.update({chr(cp).encode(): bytes([cp - 0xFEE0]) for cp in _FULL_WIDTH})
    table.update({chr(cp).encode(): b"" for cp in _INVISIBLE})
    return table


def _character_class(code_points: list[int]) -> bytes:
    """An RE2 class of `code_points`, consecutive ones as ranges (the tags block alone is 4,096)."""
    ranges: list[list[int]] = []
    for cp in sorted(code_points):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return ("[" + "".join(f"\\x{{{low:x}}}-\\x{{{high:x}}}" for low, high in ranges) + "]").encode()


ASCII = _table()
"""Each folded character's UTF-8 bytes -> the ASCII byte it is seen as, or nothing (an invisible one)."""
_FOLDED = re2.compile(_character_class([ord(c.decode()) for c in ASCII]))


class Folded(NamedTuple):
    """Folded text (a NamedTuple, not a frozen dataclass: one is made for each text a request holds)."""

    data: bytes
    dropped: tuple[int, ...] = ()
    """Where invisible characters were dropped: for each, the offset in `data` it would have had, in order."""

    def dropped_before(self, offset: int, end: bool = False) -> int:
        """How many characters were dropped before `offset` into `data`: those right at it count before a
        finding's start and not before its end, so a redaction leaves invisible neighbours alone."""
        return (bisect_left if end else bisect_right)(self.dropped, offset)


def fold(data: bytes) -> Folded:
    """UTF-8 `data` with every character in ASCII replaced by its byte (or dropped); `data` itself when none
    occurs (ASCII text without control characters costs two passes in C)."""
    if data.isascii() and len(data.translate(None, _ASCII_INVISIBLE)) == len(data):
        return Folded(data)
    pieces: list[bytes] = []
    dropped: list[int] = []
    last = size = 0
    for match in _FOLDED.finditer(data):
        ascii_byte = ASCII[match.group()]
        size += match.start() - last
        if not ascii_byte:
            dropped.append(size)
        size += len(ascii_byte)
        pieces += (data[last:match.start()], ascii_byte)
        last = match.end()
    if not pieces:
        return Folded(data)
    pieces.append(data[last:])
    return Folded(b"".join(pieces), tuple(dropped))


_LOOK_ALIKES = tuple((alike.encode(), latin.encode()) for alike, latin in zip(
    "аеорсухіјѕԁкмтнвАВЕКМНОРСТХУІЈЅαορνικτυχεΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdkmthbABEKMHOPCTXYIJSaopvikTuxeABEZHIKMNOPTYX"))
"""Cyrillic and Greek letters a reader takes for Latin ones, as spoofed text uses them: a small explicit table, as
NFKC maps none of them and the standard library has no confusables data (the abuse reading's since 2026-11-24)."""


def latin_look_alikes(data: bytes) -> bytes:
    """`data` with the Cyrillic and Greek letters that look like Latin ones as those (`Сard` with a Cyrillic С):
    for reading Latin words written to be read by a person and missed by a detector, not a text in those scripts."""
    for alike, latin in _LOOK_ALIKES:                     # bytes.replace: 1 MB in ~20 ms, str.translate ~100
        data = data.replace(alike, latin)
    return data


def latin_letters(data: bytes) -> bytes:
    """`data` (UTF-8) with the letters that stand for Latin ones as those: compatibility forms by NFKC (mathematical
    `𝐂𝐚𝐫𝐝`, circled `ⓒⓐⓡⓓ`, ligatures; full-width ones `fold` reads already) and Cyrillic and Greek look-alikes
    (`Сard`, `Vιsa`); `data` itself when ASCII. For a few words read near a finding, not a whole text."""
    if data.isascii():
        return data
    return latin_look_alikes(unicodedata.normalize("NFKC", data.decode("utf-8", "replace")).encode())
