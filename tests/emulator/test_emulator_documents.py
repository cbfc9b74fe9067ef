"""Converse document blocks: Bedrock's checks on format and name, and a reply that sees the document."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import SONNET_45

PDF = b"%PDF-1.4 invoice"


def _ask(client, document: dict) -> dict:
    return client.converse(modelId=SONNET_45, messages=[{"role": "user", "content": [
        {"document": document}, {"text": "Summarise it"}]}])


def test_a_document_is_read(client) -> None:
    reply = _ask(client, {"format": "pdf", "name": "Invoice (March) [2026]", "source": {"bytes": PDF}})
    assert reply["output"]["message"]["content"][0]["text"].startswith("Emulated reply to: a document and Summarise")


@pytest.mark.parametrize("name", ["invoice_2026.pdf", "two  spaces", " leading"])
def test_a_name_outside_bedrocks_charset_is_refused(client, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        _ask(client, {"format": "pdf", "name": name, "source": {"bytes": PDF}})
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "messages.0.content.0.document.name" in exc.value.response["Error"]["Message"]


def test_an_unknown_format_is_a_constraint_finding(client) -> None:
    with pytest.raises(ClientError) as exc:
        _ask(client, {"format": "rtf", "name": "Notes", "source": {"bytes": PDF}})
    message = exc.value.response["Error"]["Message"]
    assert "messages.1.member.content.1.member.document.format" in message and "[pdf, csv" in message
