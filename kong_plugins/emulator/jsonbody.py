"""JSON request bodies as the emulator reads them: what ``json.loads`` lets through but Bedrock refuses.

Two things parse in Python and then broke the emulator (a 500, or a connection dropped unanswered):

- Deep nesting. ``json.loads`` raises RecursionError (not ValueError) about a thousand levels down, and a
  body that parses just below that can still exhaust the stack later (``json.dumps`` of a tool input).
  Bedrock's parser refuses deep nesting with a 400 (its limit is not documented); the emulator refuses more
  than ``MAX_DEPTH`` levels, far above what a real request nests (a Claude Code body, tool schemas
  included: some 20).
- A lone surrogate (``"\\ud800"`` without its pair). No UTF-8 text can carry one, so Bedrock refuses the
  body; Python keeps it in the string, and encoding that string (every token count does) raised.

Both are refused as a body that does not parse (``Unreadable``, a ValueError, says which).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 500
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")   # only a body with one can decode to a surrogate
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


class Unreadable(ValueError):
    """Valid JSON the emulator refuses as Bedrock does; the message says why (for the 400's text)."""


class TooDeep(Unreadable):
    def __init__(self) -> None:
        super().__init__(f"the JSON nests more than {MAX_DEPTH} levels deep")


class LoneSurrogate(Unreadable):
    def __init__(self) -> None:
        super().__init__("a string holds a lone surrogate (half a UTF-16 pair), which is not Unicode text")


def _too_deep(value: Any) -> bool:
    """Whether containers nest past MAX_DEPTH. A loop, not recursion: any depth ``json.loads`` returned."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _holds_surrogate(value: Any) -> bool:
    """Whether a string (or a key) holds a surrogate: json pairs the paired ones, so it is a lone one. Encoding
    the document as UTF-8 finds one at C speed (a 300 KB body: about a millisecond)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(text: str | bytes, *, allow_surrogates: bool = False) -> Any:
    """``json.loads``; Unreadable (a ValueError) also for a value nested more than MAX_DEPTH levels deep or,
    unless ``allow_surrogates`` (the request log keeps what it was sent), a string with a lone surrogate."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep() from None
    if isinstance(value, (dict, list)) and _too_deep(value):
        raise TooDeep()
    pattern = _SURROGATE_ESCAPE_BYTES if isinstance(text, bytes) else _SURROGATE_ESCAPE
    if not allow_surrogates and pattern.search(text) is not None and _holds_surrogate(value):  # type: ignore[arg-type]
        raise LoneSurrogate()
    return value
