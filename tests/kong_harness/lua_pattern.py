"""Translate simple Lua patterns to Python regular expressions.

Why: Kong schemas validate strings with ``value:match(pattern)`` (kong/db/schema
init.lua validators ``match``, ``match_none``, ``match_any``...), and both
bundled and external plugin schemas use Lua patterns.  The common subset
(character classes, sets, anchors, ``* + - ?``) is translated; ``%b`` and
``%f`` are not, and such patterns are skipped (treated as matching).
"""
from __future__ import annotations

import re
from functools import lru_cache

_CLASSES = {
    "a": "A-Za-z", "d": "0-9", "l": "a-z", "s": r" \t\n\r\f\v", "u": "A-Z",
    "w": "A-Za-z0-9", "x": "0-9A-Fa-f", "p": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "c": r"\x00-\x1f\x7f",
}


class UnsupportedPattern(ValueError):
    """The pattern uses a Lua feature the translator does not cover."""


def _class(ch: str, in_set: bool) -> str:
    lower = ch.lower()
    if lower in _CLASSES:
        body = _CLASSES[lower]
        if ch.isupper():
            return "[^" + body + "]" if not in_set else None  # type: ignore[return-value]
        return body if in_set else "[" + body + "]"
    if ch.isalnum():
        raise UnsupportedPattern("%" + ch)
    return re.escape(ch)


@lru_cache(maxsize=512)
def to_python_regex(pattern: str) -> re.Pattern:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "%":
            if i + 1 >= n:
                raise UnsupportedPattern("malformed pattern (ends with '%')")
            nxt = pattern[i + 1]
            if nxt in "bf":
                raise UnsupportedPattern("%" + nxt)
            out.append(_class(nxt, False))
            i += 2
        elif c == "[":
            j = i + 1
            parts = ["["]
            if j < n and pattern[j] == "^":
                parts.append("^")
                j += 1
            first = True
            while j < n and (pattern[j] != "]" or first):
                ch = pattern[j]
                first = False
                if ch == "%" and j + 1 < n:
                    cls = _class(pattern[j + 1], True)
                    if cls is None:
                        raise UnsupportedPattern("negated class inside set")
                    parts.append(cls)
                    j += 2
                    continue
                if ch in "\\[]^":
                    parts.append("\\" + ch)
                else:
                    parts.append(ch)
                j += 1
            if j >= n:
                raise UnsupportedPattern("malformed pattern (missing ']')")
            parts.append("]")
            out.append("".join(parts))
            i = j + 1
        elif c in "*+?-" and out and out[-1] != "^":
            out.append("*?" if c == "-" else c)
            i += 1
        elif c == "^" and i == 0:
            out.append("^")
            i += 1
        elif c == "$" and i == n - 1:
            out.append(r"\Z")
            i += 1
        elif c == ".":
            out.append("(?s:.)")
            i += 1
        elif c in "()":
            out.append(c)
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out))


def lua_match(value: str, pattern: str) -> bool:
    """``value:match(pattern) ~= nil``; unsupported patterns count as a match."""
    try:
        rx = to_python_regex(pattern)
    except (UnsupportedPattern, re.error):
        return True
    return rx.search(value) is not None
