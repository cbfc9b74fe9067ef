"""Scan a request body's user-authored text and decide: block, redact, monitor.

Rules for bodies that are not what a client API sends: a body that is not a
JSON object (or not UTF-8) is scanned as plain text (decoded with replacement
characters), and a `redact` finding in it blocks instead, since a redaction
could not keep it well-formed. The same holds for the text of a binary document
(a PDF cannot be rewritten), and a document that cannot be read to the end is
the `unreadable_document` category (block, monitor or off). A request body
carried inside the body in base64 (Bedrock CountTokens' InvokeModel body) is
scanned as a body of its own, by the same rules, and a redaction in it is
encoded back. Nothing here ever raises on input.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Iterator, Mapping

import re2

from kong_plugins.formats import wire_json
from kong_plugins.guardrails.folding import Folded, fold
from kong_plugins.guardrails.detectors import CATEGORIES, JOINED, Finding, Prefilter, could_find, could_find_any, find
from kong_plugins.guardrails.segments import Path, Segment, authored_spans, embedded_bodies, replace_at, user_segments

ACTIONS = ("block", "redact", "monitor", "off")
UNREADABLE = "unreadable_document"
"""A document whose text the gateway cannot see (a Word 97 .doc, encrypted, malformed, too long, in S3)."""
BATCH = 16 * JOINED
"""Bytes of user text (and one per piece) folded ahead of its scan, for the prefilter to read in joined passes."""
CANDIDATE_LIMIT = 2000
"""More candidates than this in one request (e.g. thousands of card-like numbers) count as a finding."""

SEED_KEYWORDS = {
    "sql_injection": r"\b(?:sql|select|drop|insert)\b",
    "payment_card": r"\b(?:credit\s+card|card\s+number)\b",
    "cvv": r"\bcvv\b",
    "credentials": r"\b(?:password|secret|token)\b",
    "abuse": r"\b(?:order\s+hack|exploit|bypass)\b",
}
"""The seeds' literal keyword list, as an opt-in preset (`seed_keywords: true`). It blocks "reset my
password", "select the best option", "token of appreciation" and every Claude Code user turn that
mentions a token: measured in tests/guardrails, it is off by default for that reason."""


Piece = tuple[int, Folded, AbstractSet[int]]
"""An authored span of a segment's text: where it starts, its folded bytes, the patterns the prefilter saw in them."""


@dataclass
class ScanResult:
    found: dict[str, str] = field(default_factory=dict)   # category -> action taken
    body: bytes | None = None                             # the redacted body, when something was redacted
    unreadable: list[str] = field(default_factory=list)
    """Why each unreadable document was not read ("the pdf file is encrypted"): formats and limits, no content."""

    @property
    def blocked(self) -> list[str]:
        return sorted(c for c, action in self.found.items() if action == "block")


class Scanner:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.actions = {c: config.get(c) or "block" for c in CATEGORIES}
        self.unreadable_action = config.get(UNREADABLE) or "block"
        self.prefilter = Prefilter()
        self._built_in = [(c, action) for c, action in self.actions.items() if action != "off"]
        self.tool_results = bool(config.get("scan_tool_results"))
        self.skip_reminders = config.get("scan_system_reminders") is not True
        self.extra: list[tuple[str, Any, str]] = []
        self.invalid_patterns: list[str] = []
        """Categories whose custom pattern RE2 refused (Kong's is_regex checks PCRE, which accepts more): the
        plugin then refuses every request it scans, as a check that cannot run must."""
        for custom in config.get("custom_patterns") or []:
            try:
                self.extra.append((custom["category"], _compile(custom["pattern"]), custom.get("action") or "block"))
            except re2.error:
                self.invalid_patterns.append(custom["category"])
        if config.get("seed_keywords"):
            for category, pattern in SEED_KEYWORDS.items():
                self.extra.append((category, _compile(pattern), self.actions[category]))

    @property
    def categories(self) -> list[str]:
        """Every category this scanner reports: the built-in ones it runs, then the custom patterns'."""
        built_in = [c for c in CATEGORIES if self.actions[c] != "off"]
        return built_in + [c for c in dict.fromkeys(category for category, _, _ in self.extra) if c not in built_in]

    def findings_in(self, text: str) -> dict[str, str]:
        """What plain `text` holds, by category, with the strongest action configured for it (moderation)."""
        found: dict[str, str] = {}
        folded = _folded(text, 0, len(text))
        for f, action in self._findings_with_spans(text, [(0, folded, self.prefilter.active(folded.data))]):
            found[f.category] = _stronger(found.get(f.category), action)
        return found

    def scan_unwritable(self, text: str, result: ScanResult) -> None:
        """Add what `text` holds to `result`, for text the request carries where the gateway cannot rewrite it (a
        header): a redaction there blocks."""
        for category, action in self.findings_in(text).items():
            result.found[category] = _stronger(result.found.get(category), "block" if action == "redact" else action)

    def scan(self, raw: bytes | None, from_claude_code: bool = False) -> ScanResult:
        """What the user's parts of a request body hold. `from_claude_code`: the request carries Claude Code's
        session header, so `<system-reminder>` blocks in its user turns are Claude Code's own (skipped unless
        scan_system_reminders); from any other client such a tag is the user's text and would hide anything."""
        if not raw:
            return ScanResult()
        try:
            body = wire_json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            found = self.findings_in(raw.decode("utf-8", "replace"))
            return ScanResult(found={c: "block" if action == "redact" else action for c, action in found.items()})
        return self._scan_json(body, self.skip_reminders and from_claude_code)

    def _scan_json(self, body: dict, skip_reminders: bool) -> ScanResult:
        result = ScanResult()
        redactions: list[tuple[Segment, list[Finding]]] = []
        rewritten = self._scan_embedded(body, result, skip_reminders)
        for segment, pieces in self._prefiltered(body, skip_reminders):
            if segment.problem is not None and self.unreadable_action != "off":
                result.found[UNREADABLE] = _stronger(result.found.get(UNREADABLE), self.unreadable_action)
                result.unreadable.append(segment.problem)
            to_redact = []
            for finding, action in self._findings_with_spans(segment.text, pieces):
                if action == "redact" and segment.extracted:
                    action = "block"                   # a PDF's text cannot be written back into the PDF
                result.found[finding.category] = _stronger(result.found.get(finding.category), action)
                if action == "redact":
                    to_redact.append(finding)
            if to_redact:
                redactions.append((segment, to_redact))
        if (redactions or rewritten) and not result.blocked:
            for segment, findings in redactions:
                replace_at(body, segment.path, segment.stored(redact(segment.text, findings)))
            for path, inner in rewritten:
                replace_at(body, path, base64.b64encode(inner).decode("ascii"))
            result.body = wire_json.dumps(body)
        return result

    def _scan_embedded(self, body: dict, result: ScanResult, skip_reminders: bool) -> list[tuple[Path, bytes]]:
        """Scan the bodies carried in `body` into `result`; the redacted ones, to encode back."""
        rewritten = []
        for path, raw in embedded_bodies(body):
            if raw is None:
                inner = ScanResult(unreadable=["the embedded request body is not valid base64"])
                if self.unreadable_action != "off":
                    inner.found[UNREADABLE] = self.unreadable_action
            else:
                inner = self.scan(raw, skip_reminders)
            for category, action in inner.found.items():
                result.found[category] = _stronger(result.found.get(category), action)
            result.unreadable += inner.unreadable
            if inner.body is not None:
                rewritten.append((path, inner.body))
        return rewritten

    def _prefiltered(self, body: dict, skip_reminders: bool) -> Iterator[tuple[Segment, list[Piece]]]:
        """The user's segments, each with its authored spans folded and what the prefilter saw in them: read a batch
        of segments at a time, so that thousands of short texts (an embeddings or rerank request's) cost a few set
        passes, not ten each (Prefilter.active_each)."""
        batch: list[tuple[Segment, list[tuple[int, Folded]]]] = []
        size = 0
        for segment in user_segments(body, tool_results=self.tool_results):
            spans = authored_spans(segment.text, skip_reminders and not segment.attached)
            pieces = [(start, _folded(segment.text, start, end)) for start, end in spans]
            batch.append((segment, pieces))
            for _, folded in pieces:
                size += len(folded.data) + 1
            if size >= BATCH:
                yield from self._read_batch(batch)
                batch, size = [], 0
        yield from self._read_batch(batch)

    def _read_batch(self, batch: list[tuple[Segment, list[tuple[int, Folded]]]]
                    ) -> Iterator[tuple[Segment, list[Piece]]]:
        """`batch`'s segments with what the prefilter saw in each piece: all its pieces read in one active_each."""
        active = iter(self.prefilter.active_each([folded.data for _, pieces in batch for _, folded in pieces]))
        for segment, pieces in batch:
            yield segment, [(start, folded, next(active)) for start, folded in pieces]

    def _findings_with_spans(self, text: str, pieces: list[Piece]) -> list[tuple[Finding, str]]:
        """Findings with character offsets into `text` (detectors work on UTF-8 bytes)."""
        out: list[tuple[Finding, str]] = []
        for start, folded, active in pieces:
            data = folded.data
            found: list[tuple[Finding, str]] = []
            for category, action in self._built_in if could_find_any(data, active) else ():
                if not could_find(category, data, active):
                    continue
                for f in find(category, data, CANDIDATE_LIMIT, active):
                    found.append((f, action))
                    if action != "redact":
                        break                      # one finding decides a block or a monitor
            for category, pattern, action in self.extra:
                for match in pattern.finditer(data):
                    found.append((Finding(category, *match.span()), action))
                    if action != "redact":
                        break
            for f, action in found:
                span = (start + _chars(folded, f.start), start + _chars(folded, f.end, end=True))
                out.append((Finding(f.category, *span), action))
        return out


def redact(text: str, findings: list[Finding]) -> str:
    """Replace each finding's span by `[REDACTED:<category>]` (overlapping spans merged)."""
    out, position = [], 0
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if f.start < position:
            continue
        out.append(text[position:f.start])
        out.append(f"[REDACTED:{f.category}]")
        position = f.end
    out.append(text[position:])
    return "".join(out)


def _folded(text: str, start: int, end: int) -> Folded:
    return fold(text[start:end].encode("utf-8", "surrogatepass"))


def _chars(folded: Folded, byte_offset: int, end: bool = False) -> int:
    """A byte offset into folded UTF-8 as a character offset into the text it was folded from (only for findings,
    which are rare); a document's bytes that were not UTF-8 are surrogates in the text, one character each."""
    head = folded.data[:byte_offset]
    try:
        chars = len(head.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError:
        chars = len(head.decode("utf-8", "ignore"))
    return chars + folded.dropped_before(byte_offset, end)


def _stronger(current: str | None, action: str) -> str:
    order = {"monitor": 0, "redact": 1, "block": 2}
    return action if current is None or order[action] > order[current] else current


def _compile(pattern: str) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    return re2.compile(pattern.encode(), options)
