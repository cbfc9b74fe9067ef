"""Detectors: what each category looks like, precisely enough to leave prose and code alone.

A pattern finds candidates; a small Python validator then decides (Luhn and
issuer ranges for cards, "is this a value or a word" for credentials, "is this a
question about defending against it" for abuse). One module per category; this
one puts them together and runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import unquote_to_bytes

import re2

from kong_plugins.guardrails import abuse, cards, credentials, sql
from kong_plugins.guardrails.patterns import SOURCES, PerTextValidator, Validator, for_text

SET_MAX_MEM = 32 << 20
"""RE2's memory budget for each prefilter set, most of it the DFA's state cache: bounded, so a
long run of never-seen text cannot grow the plugin server without limit (128 MiB each before)."""

CATEGORIES = ("sql_injection", "payment_card", "cvv", "credentials", "abuse")
ABUSE_GAPPED_SETS = 6
"""Sets the abuse families with a gap of any characters in a sentence (`[^.!?\\n]{0,60}`) are spread over, two to a
set. Together in the two abuse sets, 1 MB of cue and commerce words with no punctuation took 0.8-1.1 s to pass (each
family alone 28-66 ms): their counters multiply. Spread, 32 ms; benign prose pays ~1 ms more per 100 KB."""
_GAP = rb"[^.!?\n]{0,"


@dataclass(frozen=True)
class Finding:
    category: str
    start: int
    end: int


DETECTORS: dict[str, tuple[tuple["re2._Regexp", Validator | PerTextValidator], ...]] = {
    "sql_injection": sql.DETECTORS,
    "payment_card": cards.PAYMENT_CARD,
    "cvv": cards.CVV,
    "credentials": credentials.DETECTORS,
    "abuse": abuse.DETECTORS,
}


def _span(pattern: "re2._Regexp", match: "re2._Match") -> tuple[int, int]:
    """What a redaction replaces: the number itself for cards and codes, else the whole match."""
    for group in cards.SPAN_GROUPS.get(id(pattern), ()):
        if match.group(group) is not None:
            return match.span(group)
    return match.span()


class Prefilter:
    """A few RE2::Set passes over a text say which detector patterns match it at all.

    Benign text hits few patterns; only those are then scanned match by match
    (each match costs far more than the set pass). The abuse families (many
    bounded repeats such as `[^.!?\\n]{0,60}`) go in two sets of their own: in one
    automaton with everything else their states multiply, and 1 MB of random
    words and punctuation took 1.1 s to pass instead of 32 ms (benign prose pays
    about 0.3 ms more per 100 KB for the extra passes). The abuse intent reading (abuse.READER) finds its
    own candidates, outside the sets.
    """

    def __init__(self) -> None:
        groups: dict[tuple[bool, str], list[int]] = {}
        for category, entries in DETECTORS.items():
            gapped = [id(pattern) for pattern, _ in entries if _GAP in SOURCES[id(pattern)][0]]
            plain = [id(pattern) for pattern, _ in entries if id(pattern) not in gapped]
            for pattern, _ in entries:
                pid, group = id(pattern), "main"
                if category == "abuse":
                    group = (f"abuse-gap-{gapped.index(pid) % ABUSE_GAPPED_SETS}" if pid in gapped
                             else f"abuse-{plain.index(pid) % 2}")
                groups.setdefault((SOURCES[pid][1], group), []).append(pid)
        self._sets: list[tuple["re2.Set", list[int]]] = []
        for (case_sensitive, _), ids in sorted(groups.items()):
            options = re2.Options()
            options.case_sensitive = case_sensitive
            options.max_mem = SET_MAX_MEM
            pattern_set = re2.Set.SearchSet(options)
            for pid in ids:
                pattern_set.Add(SOURCES[pid][0])
            pattern_set.Compile()
            self._sets.append((pattern_set, ids))

    def active(self, data: bytes) -> set[int]:
        found: set[int] = set()
        for pattern_set, ids in self._sets:
            found.update(ids[i] for i in pattern_set.Match(data) or ())
        return found


def find(category: str, data: bytes, limit: int, active: set[int] | None = None) -> Iterator[Finding]:
    """Findings of `category` in UTF-8 `data`, with byte offsets.

    More than `limit` candidates (e.g. thousands of card-like numbers or of
    "password: x1" lines in one prompt) count as one finding covering the whole
    text: adversarial padding can neither slow the scan down nor hide a payload.
    A table-prone pattern (cards.TABLE_PRONE) stops there instead, finding nothing. The abuse intent reading
    (abuse.READER.findings) keeps its own count: of the sentences it had to read, not of its candidates.
    """
    examined = 0
    views = [data]
    if category == "sql_injection" and b"%" in data:
        decoded = unquote_to_bytes(data)                  # %27%20OR%201%3D1
        if decoded != data:                               # "50% off" decodes to itself: nothing new to scan
            views.append(decoded)
    if category == "abuse" and (latin := abuse.look_alikes_read(data)) is not None:
        views.append(latin)                               # "rеfund" with a Cyrillic е
    for view in views:
        shared: dict[str, Any] = {}                       # the view's indexes, for PerTextValidators
        for pattern, valid in DETECTORS[category]:
            if active is not None and view is data and id(pattern) not in active:
                continue
            check: Validator | None = None
            table_prone, own = id(pattern) in cards.TABLE_PRONE, 0
            for match in pattern.finditer(view):
                if table_prone:
                    own += 1
                    if own > limit:
                        break
                else:
                    examined += 1
                    if examined > limit:
                        yield Finding(category, 0, len(data))
                        return
                check = check or for_text(valid, view, shared)
                if check(view, match):
                    if view is not data:
                        yield Finding(category, 0, len(data))
                        return
                    yield Finding(category, *_span(pattern, match))
        if category == "abuse":
            for start, end in abuse.READER.findings(view, limit):
                if view is not data or (start, end) == (0, len(view)):
                    yield Finding(category, 0, len(data))
                    return
                yield Finding(category, start, end)
