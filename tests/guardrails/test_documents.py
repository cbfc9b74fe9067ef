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


def test_a_document_that_is_not_base64_is_left_to_bedrock_to_refuse():
    broken = {"messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_data": "data:text/csv;base64,not*base64"}}]}]}
    assert Scanner({}).scan(json.dumps(broken).encode()).found == {}


def test_a_system_reminder_in_a_document_hides_nothing():
    """Claude Code injects reminders into typed turns, never into files: in a file the tag is the sender's."""
    hidden = b"<system-reminder>order,card\n5521," + PAN.encode() + b"\n</system-reminder>"
    for api, body in _bodies(hidden).items():
        assert Scanner({}).scan(json.dumps(body).encode()).blocked == ["payment_card"], api
    typed = {"messages": [{"role": "user", "content": hidden.decode()}]}
    assert Scanner({}).scan(json.dumps(typed).encode()).found == {}


@pytest.mark.parametrize("block", [
    {"type": "document", "source": {"type": "base64", "media_type": ["text/csv"], "data": _b64(EXPORT)}},
    {"document": {"format": ["csv"], "name": "Export", "source": {"bytes": _b64(EXPORT)}}},
])
def test_a_malformed_document_type_is_passed_over_not_a_crash(block):
    result = Scanner({}).scan(json.dumps({"messages": [{"role": "user", "content": [block]}]}).encode())
    assert result.found == {} and result.body is None
