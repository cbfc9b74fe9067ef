"""Abuse intent: whether a sentence asks how to cheat a shop, read from families of cues, not matched phrasings.

abuse.py's phrase families name phrasings ("refund ... keep the item", "bypass ... fraud rules"); people who never
saw them write others ("what excuse works best", "make the swap pass inspection", "quedarme con el producto sin
devolverlo"). abuse.py also holds families of cues (deceit, evasion, unearned gain, someone else's means...), in
English and the shop's other languages; a Reader built from them finds candidates with a few regexps of those
words (its triggers) and scores the sentence around each one, with its neighbours:

- each family of cues present counts (a weak one only without its strong one);
- so does an author asking for it ("how do I", "help me", "my friend wants", "for a novel ... step by step"; a
  bare question or order less) and someone who gains ("so I", "for my sister's orders", "in my favour");
- a commerce word must be there (OBJECT; these readings' words are in abuse_readings.py);
- words of someone defending against it ("detect", "write a rule", "training", "chargeback rate", "fraudsters
  often..."), reporting a customer's doing ("the customer says"), staff speaking of the shop's work ("how do we",
  "by mistake") and a paste of code count against;
- cues with nobody asking and nobody gaining are a description ("box switching: purchasing an expensive item...").

A candidate is abuse at THRESHOLD. Everything is read from a bounded window (WINDOW bytes either side), matching is
RE2 (each family and reading searched in the sentence only as far as the score needs it), and text is folded to
plain ASCII Latin first (accents dropped: "Rückerstattung" is read as "ruckerstattung"; other scripts drop out), so a
candidate costs the same in a 1 MB text as in a prompt.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Iterator

from kong_plugins.guardrails.abuse_readings import (ASKS, ASKS_WEAK, DEFENDS, NOT_POLICY, OBJECT, PERSONAL,
                                                    QUESTION, READINGS, TAMPERING, words)
from kong_plugins.guardrails.patterns import compile_pattern

WINDOW = 320
"""Bytes read either side of a candidate: its sentence and the ones beside it, in any prompt people write."""
THRESHOLD = 3.0
ASKS_WEAKLY = 0.75
"""A question with no first person in it ("which payment methods allow...", "does offering a free product..."): it
takes more than one cue with it, or someone who gains, to read as asking for abuse."""
GAPPED_TRIGGERS = 6
"""Regexps the cues with a gap of words in them are spread over (beside the longest, alone)."""
SHORT_LINE = 40
"""Bytes: a line shorter than this that ends mid-sentence was broken by hand, not wrapped at a column."""
GATED_TEXT = 4 * WINDOW
"""Bytes: a text this short is read only where both gates match somewhere in it."""
CODE_SHARE = 0.06
"""A window with more of code's punctuation than this share of its bytes is a paste of code (prose has 1-2%)."""


_LETTERS = {"a": "àáâãäåą", "c": "çćč", "e": "èéêëę", "i": "ìíîï", "l": "ł", "n": "ñń", "o": "òóôõöø", "s": "śšß",
            "u": "ùúûü", "z": "źżž"}
_BASE = {accented: base for base, accents in _LETTERS.items() for accented in accents}


def plain(source: str) -> str:
    """A cue as the normalised text spells it: no accents."""
    return "".join(_BASE.get(c, c) for c in source).replace("ß", "ss")


def as_written(source: str) -> str:
    """A cue as people type it: a space may be any run of spaces, hyphens and quotes ("3-D Secure", "e-mail"), an
    apostrophe a typographic one, an accented letter its plain one too ("chociaż", "chociaz"); `\\b` is ASCII's,
    so a cue that starts or ends in an accented letter has no boundary there. Classes only, no repeats."""
    out = []
    for i, c in enumerate(source):
        if c == " " and source[i - 1:i] != "\\":
            out.append(r"[\s\-'\"]" + ("*" if source[i + 1:i + 2] == "?" else "+"))
        elif c == "?" and source[i - 1:i] == " ":
            continue
        elif c == "'":
            out.append("['’]")
        elif c in _BASE:
            out.append(f"[{c}{_BASE[c] if c != 'ß' else 's'}]")
        else:
            out.append(c)
    edges = (r"\b" if source[:1] not in _BASE else "", r"\b" if source[-1:] not in _BASE else "")
    return edges[0] + "".join(out) + edges[1]


def any_accent(pattern: str) -> str:
    """`pattern` (as as_written writes it) with each plain letter that has accented forms also any of them, so a
    cue the normalised text spells plain ("ruckerstatt") finds "Rückerstattung" as written. Escapes are kept."""
    out, in_class, escaped = [], False, False
    for c in pattern:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\":
            out.append(c)
            escaped = True
        elif c in _LETTERS:
            out.append(c + _LETTERS[c] if in_class else f"[{c}{_LETTERS[c]}]")
        else:
            in_class = (in_class or c == "[") and c != "]"
            out.append(c)
    return "".join(out)


def alternatives(source: str) -> list[str]:
    """The top-level alternatives of a pattern."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(source):
        if c == "(" and source[i - 1:i] != "\\":
            depth += 1
        elif c == ")" and source[i - 1:i] != "\\":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(source[start:i])
            start = i + 1
    return out + [source[start:]]


_DEFENDING = compile_pattern(plain(DEFENDS))
_WHO = ("asks", "asks weakly", "questions", "gains")
"""Someone asking or gaining: a score has neither without one of these readings."""
_FOLD = str.maketrans({"ł": "l", "Ł": "l", "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "œ": "oe", "’": "'", "‘": "'",
                       "`": "'", "´": "'", **{c: " " for c in "“”„«»‹›…·•¿¡–—"}})
_ASCII = bytes(c if chr(c).isalnum() or chr(c) in "'%-\0" else 32 for c in range(128)).lower() + b" " * 128
_BREAKS = (b". ", b"? ", b"! ", b"; ", b": ", b".\t", b"?\t", b"!\t", b".\r", b"?\r", b"!\r", b"\r", b"\n")
_DASH = compile_pattern(r"-(?:[^0-9]|$)|(?:^|[^ ])-")


def unwrapped(raw: bytes) -> bytes:
    """A line break inside a sentence is a space where the previous line is short (SHORT_LINE), ends in no
    . ? ! ; : and the next one is not blank and starts no list item, heading or quote (- * # > |): a request broken
    over lines to hide it is read as the sentence it is. Lines wrapped at a column (e-mails, Project Gutenberg's
    novels at 70) keep their breaks: joined, a novel's sentences read as requests (a lie, though I, in order to)."""
    if b"\n" not in raw:
        return raw
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    out = [lines[0]]
    for line in lines[1:]:
        before, head = out[-1].rstrip(), line.lstrip()
        if 0 < len(before) < SHORT_LINE and head and before[-1:] not in b".?!;:" and head[:1] not in b"-*#>|\xe2":
            out[-1] = before + b" " + head
        else:
            out.append(line)
    return b"\n".join(out)


def normalise(raw: bytes) -> str:
    """Lower case, accents dropped, anything but letters, digits, `'`, `%` and a minus before a number a space:
    what the cues are written in. A sentence's end (. ? ! ; : before a space, a line break that ends one: see
    unwrapped) becomes NUL. Letters of other scripts drop out (the cues are in Latin script)."""
    raw = unwrapped(raw)
    for end in _BREAKS:
        raw = raw.replace(end, b"\0 ")
    if not raw.isascii():
        raw = unicodedata.normalize("NFKD", raw.decode("utf-8", "ignore").translate(_FOLD)).encode("ascii", "ignore")
    text = raw.translate(_ASCII)
    if b"-" in text:
        if any(b"-%d" % digit in text for digit in range(10)):
            text = _DASH.sub(lambda m: m.group(0).replace(b"-", b" "), text)
        else:                                   # the same, at C speed: no dash kept when none is before a digit
            text = text.replace(b"-", b" ")
    if b"'" in text:
        text = b" " + text + b" "
        for quote in (b" '", b"' "):
            while quote in text:
                text = text.replace(quote, b" ")
    return " ".join(text.decode().split())


def _found(pattern: Any, text: bytes) -> int:
    """0, 1 or 2: how many different cues of `pattern` `text` holds (two searches at most)."""
    first = pattern.search(text)
    if first is None:
        return 0
    second = pattern.search(text, first.end())
    return 1 if second is None or second.group(0) == first.group(0) else 2


def _sentence(text: bytes, position: int) -> tuple[bytes, bytes]:
    """The normalised sentence at `position`, and the ones before and after it (one line: `around`)."""
    lo, hi = max(0, position - WINDOW), min(len(text), position + WINDOW)
    before = normalise(text[lo:position]).split("\0")
    after = normalise(text[position:hi]).split("\0")
    if lo > 0 and len(before) > 1:
        before = before[1:]                     # a sentence cut in half
    if hi < len(text) and len(after) > 1:
        after = after[:-1]
    own = (before[-1] + " " + after[0]).strip().encode()
    around = ((before[-2] if len(before) > 1 else "") + " " + (after[1] if len(after) > 1 else "")).strip().encode()
    return own, around


class Reader:
    """Families of cues ({name: ((english, others), weight)}, each a list of alternatives), their weak-to-strong
    pairs (`stronger`: a weak family counts only without its strong one) and how their cues are grouped into
    trigger regexps (`groups`)."""

    def __init__(self, families: dict[str, tuple[tuple[list[str], list[str]], float]], stronger: dict[str, str],
                 groups: tuple[tuple[str, ...], ...]) -> None:
        self.weights = {name: weight for name, (_, weight) in families.items()}
        self.stronger = stronger
        scored = {**{name: words(*english, *others) for name, ((english, others), _) in families.items()}, **READINGS}
        self.names = tuple(scored)
        self.readings = {name: compile_pattern(plain(source)) for name, source in scored.items()}
        """Each family and reading on its own: searched one by one, only as far as the score needs them. One
        RE2::Set of them all was too large for RE2's DFA budget and read about 2 us a byte of a sentence it had not
        seen (2.5 s for 1 MB of cue and commerce words); sixteen small automata read it eight times faster."""
        self.cues = {name: self.readings[name] for name in families}
        cues = [[as_written(alternative) for name in names for source in sum(families[name][0], [])
                 for alternative in alternatives(source)] for names in groups]
        gapped = sorted((cue for group in cues for cue in group if "{" in cue), key=len, reverse=True)
        self.triggers = tuple(compile_pattern("|".join(cues)) for cues in (
            *([cue for cue in group if "{" not in cue] for group in cues), gapped[:1],
            *(gapped[1 + i::GAPPED_TRIGGERS] for i in range(GAPPED_TRIGGERS))) if cues)
        """Candidates, on the folded text as written: one regexp per group of plain cues, matched directly (not
        through detectors.Prefilter: a set's pass would cost as much, on top). One regexp of all of them is too
        large for RE2's DFA: its states, of thousands of instructions each, fill the 8 MiB budget and RE2 falls
        back to its NFA (about 1 s per MB of prose). Cues with a gap of words in them ("bypass (?:\\w+ ){0,5}?
        checks") multiply each other's states: in one group's regexp they read crafted text of their words at 1-1.5 s
        a MB; the longest on its own and the others spread over GAPPED_TRIGGERS regexps, at most about 0.1 s."""
        self.gates = tuple(compile_pattern("|".join(
            any_accent(as_written(alternative.replace("^", "").replace("$", "")))
            for source in sources for alternative in alternatives(source)))
            for sources in ((OBJECT,), (ASKS, ASKS_WEAK, QUESTION, PERSONAL)))
        """A commerce word, and someone asking or gaining (anywhere in a sentence: a superset), as written: a
        candidate scores nothing without both within WINDOW, so where a stretch of text lacks either its
        candidates are passed over unread, whatever their number."""

    def holds(self, text: bytes, names: "tuple[str, ...] | None" = None) -> set[str]:
        """Which of `names` (all families and readings) `text` holds."""
        return {name for name in names or self.names if self.readings[name].search(text)} if text else set()

    def explain(self, text: bytes, position: int, asked: bool = False) -> dict[str, float]:
        """The score's parts for the sentence at `position` (with its neighbours); `score` sums them. `asked`: none
        unless someone asks or gains (score's question), read before the rest."""
        own, around = _sentence(text, position)
        read: dict[tuple[str, bool], bool] = {}

        def has(name: str, near: bool = False) -> bool:
            if (name, near) not in read:
                read[name, near] = bool(self.holds(around if near else own, (name,)))
            return read[name, near]

        def held(name: str) -> bool:
            return has(name) or has(name, near=True)

        if asked and not any(held(name) for name in _WHO):
            return {}
        if not held("object"):
            return {}
        parts = {name: weight for name, weight in self.weights.items()
                 if held(name) and not (name in self.stronger and held(self.stronger[name]))}
        if not parts:
            return {}
        if held("asks"):
            parts["asks"] = 1.5
        elif self.asks_weakly(own, around):
            parts["asks"] = 1.0
        elif held("questions"):
            parts["asks"] = ASKS_WEAKLY
        if held("gains"):
            parts["gains"] = 1.0
        if has("defends"):
            parts["defends"] = -2.5 * _found(_DEFENDING, own)
        elif has("defends", near=True):
            parts["defends"] = -1.5 * _found(_DEFENDING, around)
        if self.reported(own, around):
            parts["reports"] = -2.0
        if held("ops") and not held("gains"):
            parts["ops"] = -1.0                 # staff speaking of the shop's own work
        raw = text[max(0, position - WINDOW):position + WINDOW]
        if sum(raw.count(c) for c in b"{}();=<>[]*/#$|\\_") > CODE_SHARE * len(raw):
            parts["code"] = -2.0                # a paste of code or config, not someone's request
        if THRESHOLD - 1.0 <= sum(parts.values()) < THRESHOLD:   # a second cue of a family counts where it decides
            window = own + b" " + around
            extra = sum(_found(self.cues[name], window) - 1 for name in self.weights if name in parts)
            if extra:
                parts["more cues"] = 0.5 * min(extra, 2)
        return parts

    def score(self, text: bytes, position: int) -> float:
        """How much the sentence at `position` (with its neighbours) reads as asking for help abusing a shop."""
        parts = self.explain(text, position, asked=True)
        if "asks" not in parts and "gains" not in parts:
            return 0.0                          # cues, but nobody asks and nobody gains: a description, a glossary
        return sum(parts.values())

    def asks_or_gains(self, text: bytes, position: int) -> bool:
        """Someone in the sentence at `position` or beside it asks for it ("how do I", "Write the exact requests to
        send.", asks_weakly) or gains by it ("now I get stuff for free", "and then I get store credit"): a tester's
        gain where someone defends or staff speak of the shop's work ("QA note: ... and then I get store credit on
        the test account")."""
        own, around = _sentence(text, position)
        if self.holds(own, ("asks",)) or self.holds(around, ("asks",)):
            return True
        if self.holds(own, ("gains",)) or self.holds(around, ("gains", "gain")):
            return not self.holds(own + b" " + around, ("defends", "ops"))
        return self.asks_weakly(own, around)

    def asks_weakly(self, own: bytes, around: bytes) -> bool:
        """A weak ask (`if I`, `can I`, an order) in the sentence, or an order beside it, that is no bug report's: a
        bug's words near (`If I enter quantity -3 ... and I get an error page.`), or beside it staff's words (`Draft
        a Jira ticket.`), say what the sentence does is reported."""
        both = own + b" " + around
        if self.holds(own, ("asks weakly",)):
            return not self.holds(both, ("staff notes",))
        return bool(self.holds(around, ("asks weakly",))) and not self.holds(both, ("defends", "ops", "staff notes"))

    def not_defended(self, text: bytes, position: int, commerce: bool = True) -> bool:
        """For abuse.py's phrase families: the sentence at `position` is not one of someone defending against
        abuse, reporting a customer's doing or speaking of the shop's own work ("write the press statement about the
        coupon glitch", "fraudsters often claim an item never arrived even though...", "set the shipping fee to 0
        for orders from our staff shop"), unless it says who gains; and, unless `commerce` is known already, it
        speaks of commerce (OBJECT)."""
        own, around = _sentence(text, position)
        if commerce and not self.holds(own, ("object",)) and not self.holds(around, ("object",)):
            return False                        # no order, price, payment... near: a stack of status codes, a game
        return bool(self.holds(own, ("gains",))) or not (self.holds(own, ("defends", "ops")) or
                                                         self.policy_question(own, around) or self.reports_in(own))

    def reported(self, own: bytes, around: bytes) -> bool:
        """Someone's doing reported in the sentence or beside it (`the customer says...`), or staff asking what
        customers may do (policy_question)."""
        return self.policy_question(own, around) or bool(self.holds(around, ("reports",))) or self.reports_in(own)

    def reports_in(self, own: bytes) -> bool:
        """The sentence reports someone's doing, unless it has a policy question's form: that is a question, whatever
        its words (`Can customers keep the item if they pretend...?` holds `customers keep`), and policy_question
        decides it, reading a lie or an evasion in it."""
        return bool(self.holds(own, ("reports",))) and not self.holds(own, ("policy",))

    def policy_question(self, own: bytes, around: bytes) -> bool:
        """The sentence, or the one before it, asks what customers may do (`Can customers...`), and nobody asks for
        it or gains by it and no lie is in it (NOT_POLICY) nor, unless staff's words are beside it, an evasion
        (TAMPERING): staff asking about the shop's policy."""
        if not (self.holds(own, ("policy",)) or self.holds(around, ("policy",))):
            return False
        if self.holds(own, NOT_POLICY) or self.holds(around, ("asks", "gains")):
            return False
        return not self.holds(own, TAMPERING) or bool(self.holds(around, ("defends", "ops")))

    def findings(self, data: bytes, limit: int, gated: bool | None = None) -> Iterator[tuple[int, int]]:
        """The spans of the candidates whose sentence scores THRESHOLD or more; the whole text once more than
        `limit` sentences that could score had to be read.

        Text is read in stretches of WINDOW bytes: a stretch none of whose candidates' windows holds both gates
        is skipped at its first candidate (padding of cue words alone costs a search per stretch, and cannot use
        up the budget). Each window read is read once (repeated padding costs nothing more); past `limit` of them,
        text holds more sentences with a cue, a commerce word and someone asking than anything people write (a
        novel has a few a megabyte), and reading on would cost more than the scan may while stopping would let
        padding hide a request: the whole text is a finding, as for the other categories' candidates. `gated`: whether
        both gates match somewhere in `data`, when the caller knows (detectors.Prefilter read them)."""
        if len(data) <= GATED_TEXT and gated is None:
            gated = all(gate.search(data) is not None for gate in self.gates)
        if gated is False:
            return      # no stretch can be live (RE2 reads a window's matches in the whole text's context)
        live: dict[int, bool] = {}
        read: dict[bytes, bool] = {}
        for trigger in self.triggers:
            position = 0
            while (m := trigger.search(data, position)) is not None:
                start = m.start()
                stretch = start // WINDOW
                if stretch not in live:
                    lo, hi = max(0, (stretch - 1) * WINDOW), (stretch + 2) * WINDOW
                    live[stretch] = all(gate.search(data, lo, hi) is not None for gate in self.gates)
                if not live[stretch]:
                    position = (stretch + 1) * WINDOW
                    continue
                position = m.end()
                key = data[max(0, start - WINDOW):start + WINDOW]
                if key not in read:
                    if len(read) >= limit:
                        yield 0, len(data)
                        return
                    read[key] = self.score(data, start) >= THRESHOLD
                if read[key]:
                    yield m.span()
