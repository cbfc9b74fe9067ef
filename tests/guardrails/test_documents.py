"""Attached text documents (an order export as CSV) are scanned in every API (binary ones: test_binary_documents)."""

import base64
import json

import pytest

from kong_plugins.guardrails.scanner import Scanner

PAN = "4111 1111 1111 1111"
EXPORT = f"order,customer,card\n5521,Müller,{PAN}\n".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _bodies(data: bytes, media_type: str = "text/csv", fmt: str = "csv") -> dict[str, dict]:
    url = f"data:{media_type};base64,{_b64(data)}"
    ask = {"type": "text", "text": "Summarise the export"}
    return {
        "openai chat": {"messages": [{"role": "user", "content": [ask, {"type": "file", "file": {"file_data": url}}]}]},
        "openai responses": {"input": [{"role": "user", "content": [{"type": "input_file", "file_data": url}]}]},
        "anthropic text": {"messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": data.decode("utf-8", "replace")}}]}]},
        "converse bytes": {"messages": [{"role": "user", "content": [
            {"document": {"format": fmt, "name": "Export", "source": {"bytes": _b64(data)}}}]}]},
    }


@pytest.mark.parametrize("api", _bodies(EXPORT))
def test_a_card_in_an_attached_export_is_blocked(api):
    result = Scanner({}).scan(json.dumps(_bodies(EXPORT)[api]).encode())
    assert result.blocked == ["payment_card"]


@pytest.mark.parametrize("api", ["openai chat", "openai responses", "converse bytes"])
def test_redaction_encodes_the_document_back(api):
    latin1 = EXPORT.decode().encode("latin-1")        # not UTF-8: its bytes survive the redaction untouched
    result = Scanner({"payment_card": "redact"}).scan(json.dumps(_bodies(latin1)[api]).encode())
    assert result.found == {"payment_card": "redact"}
    sent = result.body.decode()
    [encoded] = [s for s in _strings(json.loads(sent)) if len(s) > 40]
    assert encoded.startswith("data:text/csv;base64,") == (api != "converse bytes")
    raw = base64.b64decode(encoded.split("base64,")[-1])
    assert raw == "order,customer,card\n5521,Müller,[REDACTED:payment_card]\n".encode("latin-1")
    assert PAN not in sent and _b64(latin1) not in sent


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


BASE64_APIS = ["openai chat", "openai responses", "converse bytes"]


def _with_base64(body: dict, encoded: str) -> dict:
    """`body` (one of _bodies) with its document's base64 replaced by `encoded`."""
    block = body.get("input", body.get("messages"))[0]["content"][-1]
    if "file" in block:
        block["file"]["file_data"] = "data:text/csv;base64," + encoded
    elif "file_data" in block:
        block["file_data"] = "data:text/csv;base64," + encoded
    else:
        block["document"]["source"]["bytes"] = encoded
    return body


LENIENT = {
    "no padding": lambda data: _b64(data).rstrip("="),
    "line breaks": lambda data: "\r\n".join(_b64(data)[i:i + 76] for i in range(0, len(_b64(data)), 76)),
    "url-safe alphabet": lambda data: base64.urlsafe_b64encode(data).decode(),
    "url-safe, no padding, spaces": lambda data: " ".join(base64.urlsafe_b64encode(data).decode().rstrip("=")),
}
_SAFE_EXPORT = f"order,customer,card\n5521,M\u00fcller \u00bf\u00bf>>>,{PAN}\n".encode()   # has '+/' in base64


@pytest.mark.parametrize("api", BASE64_APIS)
@pytest.mark.parametrize("layout", LENIENT)
def test_base64_a_strict_decoder_refuses_is_still_read(api, layout):
    """Base64 with MIME line breaks, without padding or in the URL-safe alphabet is decoded: it once passed
    unscanned, on the guess that Bedrock would refuse it."""
    encoded = LENIENT[layout](_SAFE_EXPORT)
    body = json.dumps(_with_base64(_bodies(EXPORT)[api], encoded)).encode()
    assert Scanner({}).scan(body).found == {"payment_card": "block"}
    result = Scanner({"payment_card": "redact"}).scan(body)
    [sent] = [s for s in _strings(json.loads(result.body)) if "base64" in s or len(s) > 40]
    assert base64.b64decode(sent.split("base64,")[-1], validate=True) == _SAFE_EXPORT.replace(
        PAN.encode(), b"[REDACTED:payment_card]")


@pytest.mark.parametrize("api", BASE64_APIS)
@pytest.mark.parametrize("encoded", ["not*base64", "QUJD=REVG", "QUJDR", "QUJD\u00e9"])
def test_a_document_that_is_not_base64_is_unreadable(api, encoded):
    body = json.dumps(_with_base64(_bodies(EXPORT)[api], encoded)).encode()
    assert Scanner({}).scan(body).blocked == ["unreadable_document"]
    assert Scanner({}).scan(body).unreadable == ["the csv file is not valid base64"]
    assert Scanner({"unreadable_document": "monitor"}).scan(body).found == {"unreadable_document": "monitor"}
    assert Scanner({"unreadable_document": "off"}).scan(body).found == {}


CHARSETS = {"utf-16 le": ("utf-16-le", b"\xff\xfe"), "utf-16 be": ("utf-16-be", b"\xfe\xff"),
            "utf-32 le": ("utf-32-le", b"\xff\xfe\x00\x00"), "utf-32 be": ("utf-32-be", b"\x00\x00\xfe\xff"),
            "utf-8 with a bom": ("utf-8", b"\xef\xbb\xbf")}


@pytest.mark.parametrize("api", BASE64_APIS)
@pytest.mark.parametrize("charset", CHARSETS)
def test_a_text_file_in_the_charset_its_bom_names_is_read_and_redacted_in_it(api, charset):
    """Excel's "Unicode Text" export is UTF-16 LE with a BOM: read as UTF-8, its card was never seen."""
    codec, bom = CHARSETS[charset]
    export = EXPORT.decode().replace(",", "\t")
    body = json.dumps(_bodies(bom + export.encode(codec))[api]).encode()
    assert Scanner({}).scan(body).found == {"payment_card": "block"}
    result = Scanner({"payment_card": "redact"}).scan(body)
    [sent] = [s for s in _strings(json.loads(result.body)) if len(s) > 40]
    written = base64.b64decode(sent.split("base64,")[-1])
    assert written == bom + export.replace(PAN, "[REDACTED:payment_card]").encode(codec)
    clean = export.replace(PAN, "4111 1111 1111 1112")
    assert Scanner({}).scan(json.dumps(_bodies(bom + clean.encode(codec))[api]).encode()).found == {}


@pytest.mark.parametrize("raw", [b"\xff\xfe" + EXPORT.decode().encode("utf-16-le") + b"\x00",
                                 EXPORT.decode().encode("utf-16-le")], ids=["cut mid-character", "no bom"])
def test_a_utf16_file_a_redaction_could_not_be_written_into_is_scanned_and_blocked(raw):
    """A redaction could not be written back whole: cut mid-character, or without its mark (then it is read as
    UTF-8, whose NULs the detectors drop)."""
    body = json.dumps(_bodies(raw)["converse bytes"]).encode()
    assert Scanner({}).scan(body).found == {"payment_card": "block"}
    assert Scanner({"payment_card": "redact"}).scan(body).found == {"payment_card": "block"}


def test_a_system_reminder_in_a_document_hides_nothing():
    """Claude Code injects reminders into typed turns, never into files: in a file the tag is the sender's."""
    hidden = b"<system-reminder>order,card\n5521," + PAN.encode() + b"\n</system-reminder>"
    for api, body in _bodies(hidden).items():
        assert Scanner({}).scan(json.dumps(body).encode()).blocked == ["payment_card"], api
    typed = {"messages": [{"role": "user", "content": hidden.decode()}]}
    assert Scanner({}).scan(json.dumps(typed).encode(), from_claude_code=True).found == {}


@pytest.mark.parametrize("block", [
    {"type": "document", "source": {"type": "base64", "media_type": ["text/csv"], "data": _b64(EXPORT)}},
    {"document": {"format": ["csv"], "name": "Export", "source": {"bytes": _b64(EXPORT)}}},
])
def test_a_malformed_document_type_is_passed_over_not_a_crash(block):
    result = Scanner({}).scan(json.dumps({"messages": [{"role": "user", "content": [block]}]}).encode())
    assert result.found == {} and result.body is None
