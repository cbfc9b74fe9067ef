"""Scan a request body's user-authored text and decide: block, redact, monitor.

Rules for bodies that are not what a client API sends: a body that is not a
JSON object (or not UTF-8) is scanned as plain text (decoded with replacement
characters), and a `redact` finding in it blocks instead, since a redaction
could not keep it well-formed. The same holds for the text of a binary document
(a PDF cannot be rewritten), and a document that cannot be read to the end is
the `unreadable_document` category (block, monitor or off). Nothing here ever
raises on input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import re2

from kong_plugins.formats import wire_json
from kong_plugins.guardrails.folding import fold
from kong_plugins.guardrails.detectors import CATEGORIES, Finding, Prefilter, find
from kong_plugins.guardrails.segments import Segment, authored_spans, replace_at, user_segments

ACTIONS = ("block", "redact", "monitor", "off")
UNREADABLE = "unreadable_document"
"""A document whose text the gateway cannot see (a Word 97 .doc, encrypted, malformed, too long, in S3)."""
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
        self.tool_results = bool(config.get("scan_tool_results"))
        self.skip_reminders = config.get("scan_system_reminders") is not True
        self.extra: list[tuple[str, Any, str]] = []
        for custom in config.get("custom_patterns") or []:
            self.extra.append((custom["category"], _compile(custom["pattern"]), custom.get("action") or "block"))
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
        for category, action in self._findings(text, [(0, len(text))]):
            found[category] = _stronger(found.get(category), action)
        return found

    def scan(self, raw: bytes | None) -> ScanResult:
        if not raw:
            return ScanResult()
        try:
            body = wire_json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            found = self.findings_in(raw.decode("utf-8", "replace"))
            return ScanResult(found={c: "block" if action == "redact" else action for c, action in found.items()})
        return self._scan_json(body)

    def _scan_json(self, body: dict) -> ScanResult:
        result = ScanResult()
        redactions: list[tuple[Segment, list[Finding]]] = []
        for segment in user_segments(body, tool_results=self.tool_results):
            if segment.problem is not None and self.unreadable_action != "off":
                result.found[UNREADABLE] = _stronger(result.found.get(UNREADABLE), self.unreadable_action)
                result.unreadable.append(segment.problem)
            spans = authored_spans(segment.text, self.skip_reminders and not segment.attached)
            to_redact = []
            for finding, action in self._findings_with_spans(segment.text, spans):
                if action == "redact" and segment.extracted:
                    action = "block"                   # a PDF's text cannot be written back into the PDF
                result.found[finding.category] = _stronger(result.found.get(finding.category), action)
                if action == "redact":
                    to_redact.append(finding)
            if to_redact:
                redactions.append((segment, to_redact))
        if redactions and not result.blocked:
            for segment, findings in redactions:
                replace_at(body, segment.path, segment.stored(redact(segment.text, findings)))
            result.body = wire_json.dumps(body)
        return result

    def _findings(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[str, str]]:
        return [(f.category, action) for f, action in self._findings_with_spans(text, spans)]

    def _findings_with_spans(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[Finding, str]]:
        """Findings with character offsets into `text` (detectors work on UTF-8 bytes)."""
        out: list[tuple[Finding, str]] = []
        for start, end in spans:
            part = text[start:end]
            data = fold(part.encode("utf-8", "surrogatepass"))
            active = self.prefilter.active(data)
            found: list[tuple[Finding, str]] = []
            for category in CATEGORIES:
                action = self.actions[category]
                if action == "off":
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
                out.append((Finding(f.category, start + _chars(data, f.start), start + _chars(data, f.end)), action))
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


def _chars(data: bytes, byte_offset: int) -> int:
    """A byte offset into UTF-8 `data` as a character offset (only for findings, which are rare); a document's
    bytes that were not UTF-8 are surrogates in the text, and count as one character each."""
    head = data[:byte_offset]
    try:
        return len(head.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError:
        return len(head.decode("utf-8", "ignore"))


def _stronger(current: str | None, action: str) -> str:
    order = {"monitor": 0, "redact": 1, "block": 2}
    return action if current is None or order[action] > order[current] else current


def _compile(pattern: str) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    return re2.compile(pattern.encode(), options)
