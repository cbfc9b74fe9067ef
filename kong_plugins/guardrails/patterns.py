"""Compiling detector patterns: RE2 on UTF-8 bytes, each source kept for the prefilter's RE2::Set.

Patterns are RE2 (google-re2): matching is linear in the input whatever it
holds, so adversarial text (1 MB of near-matches) cannot trigger catastrophic
backtracking.
"""

from __future__ import annotations

from typing import Any, Callable

import re2

Validator = Callable[[bytes, "re2._Match"], bool]
"""Decides whether a candidate match is a finding (the text and the match)."""


class PerTextValidator:
    """A validator that needs an index of the whole text, built once per text (not once per candidate).

    `shared` lives as long as the scan of `text`: validators needing the same index keep it there, and nothing
    of the text outlives the scan (a cache beyond it would hold a user's prompt in memory)."""

    def bind(self, text: bytes, shared: dict[str, Any]) -> Validator:
        raise NotImplementedError


def for_text(valid: "Validator | PerTextValidator", text: bytes, shared: dict[str, Any]) -> Validator:
    return valid.bind(text, shared) if isinstance(valid, PerTextValidator) else valid

PATTERN_MAX_MEM = 8 << 20
"""RE2's memory budget per pattern, most of it the lazily built DFA's state cache (64 MiB before: about
35 patterns could have grown the plugin server by gigabytes on a long run of never-seen text)."""

SOURCES: dict[int, tuple[bytes, bool]] = {}
"""id(compiled pattern) -> (source, case_sensitive), for detectors.Prefilter."""


def compile_pattern(pattern: str, case_sensitive: bool = False) -> "re2._Regexp":
    """Patterns run on UTF-8 bytes: google-re2 converts a str on every call, bytes not at all."""
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.max_mem = PATTERN_MAX_MEM
    compiled = re2.compile(pattern.encode(), options)
    SOURCES[id(compiled)] = (pattern.encode(), case_sensitive)
    return compiled


def always(text: bytes, m: "re2._Match") -> bool:
    """For patterns precise enough on their own (key formats, xp_cmdshell)."""
    return True
