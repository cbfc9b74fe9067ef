"""An attached document's bytes: base64 however a client wrote it, and text in the charset its BOM names.

A document the guardrails cannot decode must not pass unscanned: the service that reads it may be more
forgiving than a strict decoder, so base64 with line breaks (MIME's 76-character lines), without its `=`
padding or in the URL-safe alphabet is decoded here too, and what still cannot be is an unreadable
document (the caller says so). Text is UTF-8 unless a byte-order mark says UTF-16 or UTF-32 (Excel's
"Unicode Text" export, Notepad's "Unicode"), and a redaction is written back in the charset it came in.
"""

from __future__ import annotations

import base64
import binascii

UTF8 = "utf-8"
_WHITESPACE = b" \t\r\n\v\f"
_URL_SAFE = bytes.maketrans(b"-_", b"+/")
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
"""Longest first: UTF-32 LE's mark starts with UTF-16 LE's. UTF-8's own mark needs nothing: it is a character
of the text (folded away for the detectors), so it is written back with the rest."""


def decode_base64(data: str) -> bytes | None:
    """`data`'s bytes, or None when it is not base64 in any alphabet or layout a client writes."""
    try:
        return base64.b64decode(data, validate=True)          # the usual case, at C speed and with no copy
    except (binascii.Error, ValueError):
        pass
    try:
        compact = data.encode("ascii").translate(_URL_SAFE, _WHITESPACE).rstrip(b"=")
    except UnicodeEncodeError:
        return None
    if len(compact) % 4 == 1:                                    # no base64 is one character past a quad
        return None
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):                         # another character, or `=` inside the data
        return None


def decode_text(raw: bytes) -> tuple[str, str | None]:
    """(the text, the charset to write a redaction back in); no charset when a redaction could not be written
    back whole (a UTF-16 file cut in the middle of a character; NUL bytes without a mark, UTF-16 that lost it,
    whose ASCII the detectors still read since they drop NULs): it is still scanned."""
    for mark, charset in _BOMS:
        if raw.startswith(mark):
            try:
                return raw.decode(charset, "surrogatepass"), charset      # the mark stays, as U+FEFF
            except UnicodeDecodeError:
                return raw.decode(charset, "replace"), None
    text = raw.decode(UTF8, "surrogateescape")                      # bytes that are not UTF-8 kept as surrogates
    return text, None if b"\x00" in raw else UTF8


def encode_text(text: str, charset: str) -> bytes:
    """`text` (a redaction of a decoded document) as bytes again, its undecodable bytes as they were."""
    return text.encode(charset, "surrogateescape" if charset == UTF8 else "surrogatepass")
