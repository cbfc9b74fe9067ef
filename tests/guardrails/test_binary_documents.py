"""PDF, Word and Excel files attached in any API are scanned through their text; what cannot be read is
the `unreadable_document` category."""

import base64
import json

import pytest

from kong_plugins.guardrails.scanner import Scanner
from tests import document_files as files

PAN = "4111 1111 1111 1111"
MEDIA = {"pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "doc": "application/msword", "xls": "application/vnd.ms-excel"}
WITH_CARD = {"pdf": files.pdf("Invoice 2026-0042", f"Paid with {PAN}"),
             "docx": files.word("Refund for order 5521 to card ", runs=(PAN,)),
             "xlsx": files.workbook([["order", "card"], [5521, PAN]]),
             "xls": files.excel97([["order", "card"], [5521, PAN]])}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _bodies(data: bytes, fmt: str) -> dict[str, dict]:
    url = f"data:{MEDIA[fmt]};base64,{_b64(data)}"
    ask = {"type": "text", "text": "Summarise the attachment"}
    bodies = {
        "openai chat": {"messages": [{"role": "user", "content": [ask, {"type": "file", "file": {"file_data": url}}]}]},
        "openai responses": {"input": [{"role": "user", "content": [{"type": "input_file", "file_data": url}]}]},
        "converse": {"messages": [{"role": "user", "content": [
            {"document": {"format": fmt, "name": "Attachment", "source": {"bytes": _b64(data)}}}]}]},
    }
    if fmt == "pdf":                                    # Anthropic takes PDFs (and text) as base64 documents
        bodies["anthropic"] = {"messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": MEDIA[fmt], "data": _b64(data)}}, ask]}]}
    return bodies


CASES = [(fmt, api) for fmt in WITH_CARD for api in _bodies(b"", fmt)]


@pytest.mark.parametrize("fmt, api", CASES)
def test_a_card_in_an_attached_file_is_blocked(fmt, api):
    result = Scanner({}).scan(json.dumps(_bodies(WITH_CARD[fmt], fmt)[api]).encode())
    assert result.found == {"payment_card": "block"}


@pytest.mark.parametrize("fmt, api", CASES)
def test_a_redact_finding_in_a_file_blocks_since_a_file_cannot_be_rewritten(fmt, api):
    result = Scanner({"payment_card": "redact"}).scan(json.dumps(_bodies(WITH_CARD[fmt], fmt)[api]).encode())
    assert result.found == {"payment_card": "block"} and result.body is None


def test_a_redaction_in_the_typed_text_beside_a_clean_file_still_happens():
    body = _bodies(files.pdf("Invoice 2026-0042, total 19.90 EUR"), "pdf")["openai chat"]
    body["messages"][0]["content"][0]["text"] = f"My card {PAN} was charged twice for this invoice"
    result = Scanner({"payment_card": "redact"}).scan(json.dumps(body).encode())
    assert result.found == {"payment_card": "redact"}
    assert "My card [REDACTED:payment_card] was charged" in result.body.decode()


@pytest.mark.parametrize("fmt", WITH_CARD)
def test_a_clean_file_passes(fmt):
    clean = {"pdf": files.pdf("Invoice 2026-0042, total 19.90 EUR"), "docx": files.word("Quarterly returns review"),
             "xlsx": files.workbook([["order", "total"], [5521, 19.9]]),
             "xls": files.excel97([["order", "total"], [5521, 19.9]])}[fmt]
    for api, body in _bodies(clean, fmt).items():
        assert Scanner({}).scan(json.dumps(body).encode()).found == {}, api


UNREADABLE = [
    ("legacy doc", _bodies(b"\xd0\xcf\x11\xe0 Word 97", "doc")["openai chat"],
     "the doc file is in Word 97's format, which is not read"),
    ("malformed xls", _bodies(b"\xd0\xcf\x11\xe0 Excel 97", "xls")["converse"], "the xls file could not be parsed"),
    ("encrypted pdf", _bodies(files.pdf(f"Paid with {PAN}", user_password="pw"), "pdf")["anthropic"],
     "the pdf file is encrypted"),
    ("malformed pdf", _bodies(b"%PDF-1.4\n% invoice\n", "pdf")["openai responses"], "the pdf file could not be parsed"),
    ("converse s3", {"messages": [{"role": "user", "content": [{"document": {
        "format": "pdf", "name": "Invoice", "source": {"s3Location": {"uri": "s3://shop-exports/cards.pdf"}}}}]}]},
     "the document is not in the request (in S3)"),
    ("anthropic url", {"messages": [{"role": "user", "content": [{"type": "document", "source": {
        "type": "url", "url": "https://example.com/cards.pdf"}}]}]}, "the document is not in the request (a url)"),
]


@pytest.mark.parametrize("name, body, why", UNREADABLE, ids=[name for name, _, _ in UNREADABLE])
def test_a_file_the_gateway_cannot_read_is_blocked_by_default(name, body, why):
    raw = json.dumps(body).encode()
    assert Scanner({}).scan(raw).blocked == ["unreadable_document"]
    assert Scanner({}).scan(raw).unreadable == [why]
    assert Scanner({"unreadable_document": "monitor"}).scan(raw).found == {"unreadable_document": "monitor"}
    assert Scanner({"unreadable_document": "monitor"}).scan(raw).blocked == []
    assert Scanner({"unreadable_document": "off"}).scan(raw).found == {}


def test_what_was_read_before_the_limit_is_still_scanned(monkeypatch):
    from kong_plugins.guardrails import document_text
    monkeypatch.setattr(document_text, "MAX_PAGES", 10)
    monkeypatch.setattr(document_text, "MAX_CHARS", 30)
    body = _bodies(files.pdf(f"Paid with {PAN}", "and the rest of a long file"), "pdf")["converse"]
    found = Scanner({"unreadable_document": "monitor"}).scan(json.dumps(body).encode()).found
    assert found == {"payment_card": "block", "unreadable_document": "monitor"}


def test_a_file_in_a_tool_result_is_scanned_only_with_scan_tool_results():
    """Claude Code's Read tool returns a PDF as a document block inside the tool result."""
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                           "data": _b64(WITH_CARD["pdf"])}}
    body = {"messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [pdf]}]}]}
    assert Scanner({}).scan(json.dumps(body).encode()).found == {}
    assert Scanner({"scan_tool_results": True}).scan(json.dumps(body).encode()).blocked == ["payment_card"]


def test_a_sheet_of_four_digit_columns_is_no_card():
    """A sheet's cells are read with tabs between, and one row in thirty of four-digit columns is a card's shape."""
    rows = [[1000 + (n * 7919 + column * 104729) % 9000 for column in range(4)] for n in range(3000)]
    for fmt, data in (("xlsx", files.workbook(rows)), ("xls", files.excel97(rows))):
        for api, body in _bodies(data, fmt).items():
            assert Scanner({}).scan(json.dumps(body).encode()).found == {}, (fmt, api)
