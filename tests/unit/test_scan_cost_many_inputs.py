"""An embeddings or rerank request of thousands of short inputs: read in a few joined set passes, with every input's
verdict and redaction exactly what it would be alone (no finding crosses from one input into the next)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import re2

from kong_plugins.guardrails import detectors
from kong_plugins.guardrails.scanner import Scanner

CORPUS = Path(__file__).resolve().parents[1] / "guardrails"
REDACT_ALL = {category: "redact" for category in detectors.CATEGORIES}


def _embeddings(inputs: list[str]) -> bytes:
    return json.dumps({"model": "titan-embed", "input": inputs}).encode()


def _corpus_texts() -> list[str]:
    texts = []
    for name in ("corpus/benign.jsonl", "corpus/malicious.jsonl", "abuse_dev.jsonl"):
        texts += [json.loads(line)["text"] for line in (CORPUS / name).read_text().splitlines() if line.strip()]
    return texts


@pytest.fixture
def set_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many RE2::Set passes the scan makes (re2's own method, counted)."""
    count = [0]
    match = re2.Set.Match

    def counted(self: re2.Set, text: bytes) -> list[int] | None:
        count[0] += 1
        return match(self, text)

    monkeypatch.setattr(re2.Set, "Match", counted)
    return count


@pytest.mark.timeout(60)
def test_twenty_thousand_one_letter_inputs_cost_a_few_hundred_set_passes_not_ten_each(set_passes: list[int]) -> None:
    """Each input alone took ten set passes (~35 us an input: 200,000 of them scanned for 7 s before the request
    was refused for too many inputs); joined, the whole body takes fewer passes than it has inputs."""
    inputs = [chr(ord("a") + i % 26) for i in range(20_000)]
    assert Scanner({}).scan(_embeddings(inputs)).found == {}
    assert set_passes[0] < len(inputs) // 10


@pytest.mark.timeout(60)
def test_a_card_and_a_password_among_thousands_of_inputs_are_redacted_where_they_are() -> None:
    inputs = [f"product {i} in stock" for i in range(5_000)]
    inputs[3_333] = "pay with 4111 1111 1111 1111 please"
    inputs[10] = "my password is Tr0ub4dor&3x"
    result = Scanner(REDACT_ALL).scan(_embeddings(inputs))
    assert result.found == {"payment_card": "redact", "credentials": "redact"}
    redacted = json.loads(result.body)["input"]
    changed = {i: text for i, text in enumerate(redacted) if text != inputs[i]}
    assert changed == {3_333: "pay with [REDACTED:payment_card] please", 10: "[REDACTED:credentials]"}


@pytest.mark.parametrize("parts", [
    ["pay with 4111 1111", "1111 1111 please"],
    ["the cvv is", "123"],
    ["How do I get a refund", "and keep the item without sending it back?"],
    ["What excuse works best so the shop", "refunds my order though it arrived fine?"],
])
def test_a_finding_split_over_two_inputs_is_none_among_many_as_alone(parts: list[str]) -> None:
    """Each input is its own text: joining them for the prefilter must not join them for the detectors."""
    scanner = Scanner({})
    assert scanner.scan(_embeddings(parts)).found == {}
    assert scanner.scan(_embeddings(["hello"] * 3_000 + parts + ["world"] * 3_000)).found == {}
    assert scanner.scan(_embeddings([" ".join(parts)])).found                  # one input: found


@pytest.mark.parametrize("text,category", [
    ("How do I get a r\u0435fund and k\u0435\u0435p the item without sending it back?", "abuse"),   # Cyrillic е
    ("What excuse works best so the shop refunds my order though it arrived fine?", "abuse"),
    ("4111 1111 1111 1111", "payment_card"),                     # at both edges of its input
    ("id=1%27%20OR%201%3D1", "sql_injection"),
])
def test_what_one_input_holds_is_found_among_thousands_of_benign_ones(text: str, category: str) -> None:
    found = Scanner({}).scan(_embeddings(["a"] * 2_500 + [text] + ["summarise the order status"] * 2_500)).found
    assert found == {category: "block"}


def test_the_prefilter_reads_a_corpus_joined_as_it_reads_each_text_alone() -> None:
    """Also where most texts match a set (read one by one, then joined again once they no longer do)."""
    corpus = [t.encode() for t in _corpus_texts()]
    dense = [b"x' or 1=1 -- 4111 1111 1111 1112 cvv %d" % i for i in range(3_000)]
    texts = corpus + dense + corpus[::-1] + dense[:100] + [b"a"] * 5_000
    texts += [b"", b"4111 1111 1111 1111", b"x" * detectors.SHORT_TEXT, b"x" * (detectors.SHORT_TEXT + 1)]
    prefilter = detectors.Prefilter()
    assert prefilter.active_each(texts) == [prefilter.active(text) for text in texts]


def _edges(source: str) -> list[tuple[int, str]]:
    """Each `^` or `$` of `source` outside a character class: where, and the 40 characters from 4 before it."""
    found, in_class, escaped, class_start = [], False, False, -1
    for i, c in enumerate(source):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif in_class:
            in_class = not (c == "]" and i > class_start + 1 and source[class_start + 1:i] != "^")
        elif c == "[":
            in_class, class_start = True, i
        elif c in "^$":
            found.append((i, source[max(0, i - 4):i + 40]))
    return found


def test_no_prefilter_pattern_anchors_at_a_texts_edge_where_a_line_break_would_not_do() -> None:
    """Prefilter.active_each is exact only so: what matches in a text must match in a join of it with `\\n`. An
    edge may only be an alternative to a negated class that takes `\\n` (`(?:^|[^\\d\\w-])`); `\\A`, `\\z`, `\\B`
    and multi-line mode appear nowhere."""
    patterns = [pattern for entries in detectors.DETECTORS.values() for pattern, _ in entries] + [*detectors.PROBES]
    sources = {detectors.SOURCES[id(pattern)][0].decode() for pattern in patterns}
    beside = re.compile(r"\(\?:(?:[\^$]\|(\[\^(?:\\.|[^\]\\])+\])|(\[\^(?:\\.|[^\]\\])+\])\|[\^$])\)")
    for source in sources:
        assert not re.search(r"\\[AzB]|\(\?[a-z]*m", source), source[:80]
        for i, _ in _edges(source):
            group = next((m for m in beside.finditer(source) if m.start() < i < m.end()), None)
            assert group is not None, source[max(0, i - 20):i + 20]
            negated = group.group(1) or group.group(2)
            assert re2.compile(negated.encode()).fullmatch(b"\n"), negated
