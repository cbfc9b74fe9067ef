"""Files attached by OpenAI clients (PDF, CSV) reach Bedrock as documents, through the official SDK."""

import base64

import anthropic
import openai
import pytest

from tests import document_files as files
from tests.e2e.clients import last_sent, metric, oa

PAN = "4111 1111 1111 1111"
PDF = base64.b64encode(files.pdf("Invoice 2026-0042, total 19.90 EUR")).decode()
CSV = base64.b64encode(b"order,total\n42,19.90\n43,5.00\n").decode()


def _document(stack) -> dict:
    [block] = [b["document"] for b in last_sent(stack)["body"]["messages"][-1]["content"] if "document" in b]
    return block


def test_chat_completions_reads_an_attached_pdf(stack):
    attached = {"filename": "invoice_2026-0042.pdf", "file_data": f"data:application/pdf;base64,{PDF}"}
    question = [{"type": "file", "file": attached}, {"type": "text", "text": "Summarise this invoice"}]
    completion = oa(stack).chat.completions.create(model="sonnet", max_tokens=50,
                                                   messages=[{"role": "user", "content": question}])
    assert completion.choices[0].message.content.startswith("Emulated reply to: a document and Summarise")
    document = _document(stack)
    assert document["format"] == "pdf" and base64.b64decode(document["source"]["bytes"]) == base64.b64decode(PDF)
    assert "invoice" not in document["name"]     # a neutral name: Bedrock warns a filename can steer the model


def test_responses_reads_an_attached_csv_streamed(stack):
    with oa(stack).responses.stream(model="haiku", input=[{"role": "user", "content": [
            {"type": "input_text", "text": "Total these orders"},
            {"type": "input_file", "filename": "orders.csv", "file_data": f"data:text/csv;base64,{CSV}"}]}]) as stream:
        final = stream.get_final_response()
    assert final.output_text.startswith("Emulated reply to: a document and Total")
    assert _document(stack)["format"] == "csv"


@pytest.mark.parametrize("file", [{"file_id": "file-abc123"},
                                  {"file_data": f"data:image/png;base64,{PDF}", "filename": "x.png"}])
def test_a_file_the_gateway_cannot_send_is_a_400_before_any_call(stack, file):
    before = len(stack.emulator_control("GET", "/_emulator/requests").json())
    with pytest.raises(openai.BadRequestError) as exc:
        oa(stack).chat.completions.create(model="sonnet", max_tokens=20, messages=[{"role": "user", "content": [
            {"type": "file", "file": file}, {"type": "text", "text": "Read it"}]}])
    assert exc.value.body["param"] == "messages.0.content.0"
    assert len(stack.emulator_control("GET", "/_emulator/requests").json()) == before


def test_a_card_number_in_an_attached_export_is_blocked_and_never_logged(stack):
    export = base64.b64encode(b"order,card\nORD-Q7Z5521,4111 1111 1111 1111\n").decode()
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack).with_options(max_retries=0).responses.with_raw_response.create(
            model="haiku", input=[{"role": "user", "content": [
                {"type": "input_text", "text": "Check this export"},
                {"type": "input_file", "filename": "export.csv", "file_data": f"data:text/csv;base64,{export}"}]}])
    assert "payment_card" in exc.value.message and "4111" not in exc.value.message
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []
    stack.harness.wait_for_log(exc.value.response.headers["X-Kong-Request-Id"])
    captured = "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)
    for canary in ("4111 1111 1111 1111", export, "Q7Z5521"):     # a plain "5521" can be in a latency
        assert canary not in captured


def _captured(stack, response) -> str:
    stack.harness.wait_for_log(response.headers["X-Kong-Request-Id"])
    return "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)


def test_a_card_number_in_an_attached_pdf_is_blocked_and_never_logged(stack):
    invoice = base64.b64encode(files.pdf("Invoice 2026-0042", f"Paid with {PAN}")).decode()
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack).chat.completions.create(model="sonnet", max_tokens=50, messages=[{"role": "user", "content": [
            {"type": "text", "text": "Why was this invoice charged twice?"},
            {"type": "file", "file": {"filename": "invoice.pdf", "file_data": f"data:application/pdf;base64,{invoice}"}}]}])
    assert exc.value.body["code"] == "content_blocked" and "payment_card" in exc.value.message
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []
    captured = _captured(stack, exc.value.response)
    for canary in (PAN, PAN.replace(" ", ""), invoice, invoice[:40], "Invoice 2026-0042"):
        assert canary not in captured


def test_a_pdf_the_gateway_cannot_read_is_a_403_in_the_anthropic_format(stack):
    """An encrypted PDF could carry anything: by default it does not reach the model unseen."""
    locked = base64.b64encode(files.pdf(f"Paid with {PAN}", user_password="s3cret")).decode()
    before = metric(stack, 'kong_bedrock_guardrail_blocks_total{action="block",category="unreadable_document"')
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="dev-developer-key", max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as exc:
        client.messages.create(model="sonnet", max_tokens=50, messages=[{"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": locked}},
            {"type": "text", "text": "Summarise this statement"}]}])
    assert exc.value.body["error"]["type"] == "permission_error"
    assert "unreadable_document" in exc.value.message and "the pdf file is encrypted" in exc.value.message
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []
    assert metric(stack, 'kong_bedrock_guardrail_blocks_total{action="block",category="unreadable_document"') \
        == before + 1
    captured = _captured(stack, exc.value.response)
    assert locked[:40] not in captured
    lines = [l for l in captured.splitlines() if '"guardrail_block"' in l and exc.value.response.headers[
        "X-Kong-Request-Id"] in l]
    assert lines and all('"unreadable":["the pdf file is encrypted"]' in l for l in lines)   # why, never what


def test_a_word_file_and_a_spreadsheet_without_card_data_reach_bedrock(stack):
    attached = [
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         files.word("Returns policy draft", table_cell="30 days")),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         files.workbook([["order", "total"], [5521, 19.9]])),
    ]
    content = [{"type": "input_file", "filename": f"f{n}", "file_data": f"data:{media};base64,"
                + base64.b64encode(data).decode()} for n, (media, data) in enumerate(attached)]
    response = oa(stack).responses.create(model="sonnet", input=[{"role": "user", "content": [
        *content, {"type": "input_text", "text": "Compare these"}]}])
    assert response.output_text.startswith("Emulated reply to:")
    sent = [b["document"]["format"] for b in last_sent(stack)["body"]["messages"][-1]["content"] if "document" in b]
    assert sent == ["docx", "xlsx"]
