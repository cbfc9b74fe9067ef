"""Detectors: what each category looks like, precisely enough to leave prose and code alone.

A pattern finds candidates; a small Python validator then decides (Luhn and
issuer ranges for cards, "is this a value or a word" for credentials, "is this a
question about defending against it" for abuse). One module per category; this
one puts them together and runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Any, Iterator
from urllib.parse import unquote_to_bytes

import re2

from kong_plugins.guardrails import abuse, abuse_intent, cards, credentials, sql
from kong_plugins.guardrails.patterns import PATTERN_MAX_MEM, SOURCES, PerTextValidator, Validator, for_text

SET_MAX_MEM = 32 << 20
"""RE2's memory budget for each prefilter set, most of it the DFA's state cache: bounded, so a
long run of never-seen text cannot grow the plugin server without limit (128 MiB each before)."""

CATEGORIES = ("sql_injection", "payment_card", "cvv", "credentials", "abuse")
ABUSE_GAPPED_SETS = 6
"""Sets the abuse families with a gap of any characters in a sentence (`[^.!?\\n]{0,60}`) are spread over, two to a
set. Together in the two abuse sets, 1 MB of cue and commerce words with no punctuation took 0.8-1.1 s to pass (each
family alone 28-66 ms): their counters multiply. Spread, 32 ms; benign prose pays ~1 ms more per 100 KB."""
_GAP = rb"[^.!?\n]{0,"
SHORT_TEXT = abuse_intent.GATED_TEXT
"""Bytes: a text this short is read with the PROBES in the prefilter's pass, and joined with others in active_each."""
JOINED = 4096
"""Bytes of short texts active_each reads in one pass."""
LEAF = 8
"""Texts a set that matched them joined reads one by one, not in halves: where most texts match it (thousands of
inputs, each with a card-like number), halving down to each text took twice the passes of reading each alone."""


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


_ENTRIES: dict[str, tuple[tuple["re2._Regexp", Validator | PerTextValidator, int, bool], ...]] = {
    category: tuple((pattern, valid, id(pattern), id(pattern) in cards.TABLE_PRONE) for pattern, valid in entries)
    for category, entries in DETECTORS.items()}
"""Each category's detectors with their pattern's id and whether it is table-prone, worked out once, not per scan."""
_IDS = {category: frozenset(entry[2] for entry in entries) for category, entries in _ENTRIES.items()}
"""Each category's pattern ids: a category none of whose patterns the prefilter saw is passed over in one test."""


PROBES = (*abuse.READER.gates, abuse.MIXED_SCRIPT)
"""Regexps find() only asks "anywhere in this text?" of: for a short text, read in the prefilter's pass (one set pass
instead of a search each, and joined with other short texts), not searched one by one."""
_PROBE_IDS = [id(probe) for probe in PROBES]
_GATE_IDS = frozenset(_PROBE_IDS[:-1])
_MIXED_ID = _PROBE_IDS[-1]


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
    own candidates, outside the sets; for a short text, its PROBES are read here too.
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
        self._sets = [_compiled(ids, case_sensitive) for (case_sensitive, _), ids in sorted(groups.items())]
        self._short_sets = self._sets + [_compiled(_PROBE_IDS, False, PATTERN_MAX_MEM)]
        """For a short text, the PROBES too, with the budget each had alone (their programs are larger than the
        detectors': a squeezed SET_MAX_MEM is for the detectors' sets)."""

    def active(self, data: bytes) -> set[int]:
        """The ids of the patterns that match somewhere in `data` (and of the PROBES, when it is SHORT_TEXT)."""
        found: set[int] = set()
        for pattern_set, ids in self._short_sets if len(data) <= SHORT_TEXT else self._sets:
            hits = pattern_set.Match(data)
            if hits:
                found.update(ids[i] for i in hits)
        return found

    def active_each(self, texts: list[bytes]) -> list[AbstractSet[int]]:
        """`[self.active(text) for text in texts]`, in fewer passes: short texts (an embeddings request's thousands of
        inputs) are read JOINED, a set that matches nowhere in them matches none of them, and one that does is read
        in halves. Exact, because no pattern anchors at a text's edge other than as `(?:^|[^...])` (or `$`) with a
        class `\\n` is in, and `\\b` sees `\\n` as it sees an edge: what matches in a text matches in a join of it."""
        found: list[AbstractSet[int]] = [_NOTHING] * len(texts)
        dense: set[int] = set()
        """The sets that matched most texts of the last batch: read text by text in the next, as joining would not
        pay (thousands of inputs, each with a card-like number and a quote: halving took 3 times the bytes)."""
        batch: list[int] = []
        size = 0
        for i, text in enumerate(texts):
            if len(text) > SHORT_TEXT:
                found[i] = self.active(text)
                continue
            batch.append(i)
            size += len(text) + 1
            if size >= JOINED:
                self._read_joined(texts, batch, found, dense)
                batch, size = [], 0
        if batch:
            self._read_joined(texts, batch, found, dense)
        return found

    def _read_joined(self, texts: list[bytes], batch: list[int], found: list[AbstractSet[int]],
                     dense: set[int]) -> None:
        joined: bytes | None = None
        for index, (pattern_set, ids) in enumerate(self._short_sets):
            if index in dense:
                matched = _each(pattern_set, ids, texts, batch, found)
            else:
                joined = _joined(texts, batch) if joined is None else joined
                hits = pattern_set.Match(joined)
                matched = _locate(pattern_set, ids, texts, batch, hits, found) if hits else 0
            if 2 * matched > len(batch):
                dense.add(index)
            else:
                dense.discard(index)


_NOTHING: AbstractSet[int] = frozenset()


def _joined(texts: list[bytes], batch: list[int]) -> bytes:
    return b"\n".join([texts[i] for i in batch])


def _each(pattern_set: "re2.Set", ids: list[int], texts: list[bytes], batch: list[int],
          found: list[AbstractSet[int]]) -> int:
    """Add to `found[i]`, for each text i of `batch`, the ids of `pattern_set`'s patterns that match it, reading each
    text alone; how many texts it matched."""
    matched = 0
    for i in batch:
        if hits := pattern_set.Match(texts[i]):
            found[i] = found[i] | {ids[hit] for hit in hits}
            matched += 1
    return matched


def _locate(pattern_set: "re2.Set", ids: list[int], texts: list[bytes], batch: list[int], hits: list[int],
            found: list[AbstractSet[int]]) -> int:
    """As _each, reading halves of `batch` down to LEAF texts, then each of them (`hits`: what the set matched in
    `batch` joined)."""
    if len(batch) == 1:
        found[batch[0]] = found[batch[0]] | {ids[i] for i in hits}
        return 1
    if len(batch) <= LEAF:
        return _each(pattern_set, ids, texts, batch, found)
    half, matched = len(batch) // 2, 0
    for part in (batch[:half], batch[half:]):
        part_hits = pattern_set.Match(_joined(texts, part))
        if part_hits:
            matched += _locate(pattern_set, ids, texts, part, part_hits, found)
    return matched


def _compiled(ids: list[int], case_sensitive: bool, max_mem: int | None = None) -> tuple["re2.Set", list[int]]:
    """One RE2::Set of the patterns `ids`, with their ids in its order."""
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.max_mem = SET_MAX_MEM if max_mem is None else max_mem
    pattern_set = re2.Set.SearchSet(options)
    for pid in ids:
        pattern_set.Add(SOURCES[pid][0])
    pattern_set.Compile()
    return pattern_set, ids


def could_find_any(data: bytes, active: AbstractSet[int] | None) -> bool:
    """False where could_find is for every category: the prefilter saw nothing in a short text with no `%` (most of
    an embeddings request's inputs)."""
    return active is None or bool(active) or len(data) > SHORT_TEXT or b"%" in data


def could_find(category: str, data: bytes, active: AbstractSet[int] | None) -> bool:
    """False where find(category, data, ..., active) finds nothing for sure: the prefilter saw none of the category's
    patterns and nothing else reads the text (a `%` for SQL; for abuse, a word mixing scripts or both of the intent
    reading's gates in a short text, or a long one). Asked first, it spares a scan most of its work per category."""
    if active is None or not _IDS[category].isdisjoint(active):
        return True
    if category == "sql_injection":
        return b"%" in data
    if category == "abuse":
        return len(data) > SHORT_TEXT or _MIXED_ID in active or _GATE_IDS <= active
    return False


def find(category: str, data: bytes, limit: int, active: AbstractSet[int] | None = None) -> Iterator[Finding]:
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
    probed = active is not None and len(data) <= SHORT_TEXT   # the prefilter read the PROBES
    mixed = _MIXED_ID in active if probed else None
    if category == "abuse" and (latin := abuse.look_alikes_read(data, mixed)) is not None:
        views.append(latin)                               # "rеfund" with a Cyrillic е
    for view in views:
        shared: dict[str, Any] = {}                       # the view's indexes, for PerTextValidators
        entries = _ENTRIES[category]
        if active is not None and view is data:
            entries = () if _IDS[category].isdisjoint(active) else [e for e in entries if e[2] in active]
        for pattern, valid, _, table_prone in entries:
            check: Validator | None = None
            own = 0
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
            gated = _GATE_IDS <= active if probed and view is data else None
            for start, end in abuse.READER.findings(view, limit, gated):
                if view is not data or (start, end) == (0, len(view)):
                    yield Finding(category, 0, len(data))
                    return
                yield Finding(category, start, end)
