"""Files attached by OpenAI clients (PDF, CSV) reach Bedrock as documents, through the official SDK."""

import base64

import openai
import pytest

from tests.e2e.clients import last_sent, oa

PDF = base64.b64encode(b"%PDF-1.4\n% invoice 2026-0042, total 19.90 EUR\n").decode()
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
    export = base64.b64encode(b"order,card\n5521,4111 1111 1111 1111\n").decode()
    with pytest.raises(openai.PermissionDeniedError) as exc:
        oa(stack).with_options(max_retries=0).responses.with_raw_response.create(
            model="haiku", input=[{"role": "user", "content": [
                {"type": "input_text", "text": "Check this export"},
                {"type": "input_file", "filename": "export.csv", "file_data": f"data:text/csv;base64,{export}"}]}])
    assert "payment_card" in exc.value.message and "4111" not in exc.value.message
    assert stack.emulator_control("GET", "/_emulator/requests").json() == []
    stack.harness.wait_for_log(exc.value.response.headers["X-Kong-Request-Id"])
    captured = "\n".join(stack.harness.plugin_server_output("bedrock") + stack.harness.error_log)
    for canary in ("4111 1111 1111 1111", export, "5521"):
        assert canary not in captured
