"""The input estimate reads the prompt wherever a format puts it: a part it missed was reserved as nothing, so one
call could spend a day's tokens (a document's text, a Converse tool result, Titan's inputText)."""

from __future__ import annotations

import base64

import pytest

from kong_plugins.metering.estimate import TOKENS_PER_IMAGE, estimate_input_tokens, native_estimate

TEXT = "lorem ipsum " * 1000      # 12,000 characters: 3,000 tokens at 4 a token
PLAIN = estimate_input_tokens({"messages": [{"role": "user", "content": [{"type": "text", "text": TEXT}]}]})


def _user(*blocks):
    return {"messages": [{"role": "user", "content": list(blocks)}]}


@pytest.mark.parametrize("shape", [
    _user({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": TEXT}}),
    _user({"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": TEXT}]}}),
    _user({"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": TEXT}]}),
    _user({"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": TEXT}]}),
    _user({"toolResult": {"toolUseId": "t1", "content": [{"text": TEXT}]}}),
    _user({"document": {"format": "txt", "name": "n", "source": {"text": TEXT}}}),
    _user({"guardContent": {"text": {"text": TEXT}}}),
    {"inputText": TEXT, "textGenerationConfig": {"maxTokenCount": 10}},
    {"prompt": TEXT, "max_gen_len": 10},
], ids=["anthropic-text-document", "anthropic-content-document", "tool-result", "search-result",
        "converse-tool-result", "converse-text-document", "converse-guard-content", "titan", "llama"])
def test_text_counts_the_same_in_every_place_a_format_puts_it(shape):
    assert PLAIN - 10 <= estimate_input_tokens(shape) <= PLAIN + 10


def test_a_base64_payload_counts_by_its_bytes_and_an_image_by_the_flat_rate():
    payload = base64.b64encode(b"x" * 12_000).decode()          # 16,000 characters of base64 for 12,000 bytes
    source = {"type": "base64", "media_type": "application/pdf", "data": payload}
    pdf = estimate_input_tokens(_user({"type": "document", "source": source}))
    converse_pdf = estimate_input_tokens(_user({"document": {"format": "pdf", "name": "n",
                                                             "source": {"bytes": payload}}}))
    assert pdf == PLAIN and converse_pdf == PLAIN + 1    # 12,000 bytes as 12,000 characters (and the name, "n")
    anthropic_image = _user({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": payload}})
    converse_image = _user({"image": {"format": "png", "source": {"bytes": payload}}})
    assert estimate_input_tokens(anthropic_image) == estimate_input_tokens(converse_image) == TOKENS_PER_IMAGE


def test_labels_and_thinking_signatures_are_not_prompt():
    signed = {"messages": [{"role": "assistant", "content": [
        {"type": "thinking", "thinking": "", "signature": "s" * 4000}]}], "model": "m" * 400}
    assert estimate_input_tokens(signed) == 1        # nothing of the signature or the model name (at least 1)


def test_tool_schemas_and_inputs_count_as_the_json_the_model_reads():
    schema = {"type": "object", "properties": {f"field_{i}": {"type": "string"} for i in range(100)}}
    anthropic = {"tools": [{"name": "t", "input_schema": schema}], "messages": []}
    converse = {"toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": schema}}}]}}
    anthropic_tokens, converse_tokens = estimate_input_tokens(anthropic), estimate_input_tokens(converse)
    assert anthropic_tokens > 700 and abs(anthropic_tokens - converse_tokens) < 10   # "field_0":{"type":"string"}, ...


@pytest.mark.parametrize("body, cap", [
    ({"max_tokens": 7}, 7), ({"inferenceConfig": {"maxTokens": 8}}, 8), ({"inferenceConfig": {"max_new_tokens": 9}}, 9),
    ({"textGenerationConfig": {"maxTokenCount": 10}}, 10), ({"max_gen_len": 11}, 11), ({}, 4096),
    ({"max_tokens": True}, 4096), ({"max_tokens": "12"}, 4096), ({"textGenerationConfig": "x"}, 4096),
])
def test_a_native_body_names_its_output_cap_where_its_model_family_does(body, cap):
    assert native_estimate(body)[1] == cap


@pytest.mark.parametrize("body, bedrock_id, operation, field", [
    ({"max_gen_len": 11}, "us.meta.llama3-3-70b-instruct-v1:0", "invoke", "max_gen_len"),
    ({}, "us.meta.llama3-3-70b-instruct-v1:0", "invoke", "max_gen_len"),
    ({}, "amazon.titan-text-express-v1", "invoke-with-response-stream", "textGenerationConfig.maxTokenCount"),
    ({}, "global.amazon.nova-2-lite-v1:0", "invoke", "inferenceConfig.max_new_tokens"),
    ({}, "amazon.titan-text-express-v1", "converse", "inferenceConfig.maxTokens"),
    ({}, "us.anthropic.claude-haiku-4-5-20251001-v1:0", "invoke", "max_tokens"),
    ({"inferenceConfig": {"maxTokens": 5}}, "us.meta.llama3-3-70b-instruct-v1:0", "converse-stream",
     "inferenceConfig.maxTokens"),
    ({"textGenerationConfig": {"maxTokenCount": 10}}, "amazon.titan-text-express-v1", "invoke",
     "textGenerationConfig.maxTokenCount"),
])
def test_a_native_call_is_told_the_cap_its_own_api_and_model_family_name(body, bedrock_id, operation, field):
    """A too-large 429's advice names the field the caller can lower: it said max_tokens to Llama and Titan
    callers, whose bodies have no such field."""
    assert native_estimate(body, bedrock_id, operation).cap_field == field


def test_a_native_body_of_odd_shapes_is_estimated_not_raised_on():
    """A native body reaches the estimate unvalidated (Bedrock judges it): an unhashable `type` raised, and the
    client got a 503 "a gateway check did not run" instead of Bedrock's 400."""
    body = {"messages": [{"role": "user", "content": [{"type": ["x"], "text": "hi"}, {"type": {"a": 1}}]}]}
    assert estimate_input_tokens(body) == 1
    assert native_estimate(body)[:2] == (1, 4096)


def test_a_pdf_is_estimated_by_its_pages_not_its_bytes():
    """Claude reads a PDF page as text and as an image: some 4,600 tokens at the most. By its bytes, an 11-page
    scan (2 MB) was estimated at half a million tokens, a request too large for a developer's minute."""
    from tests.document_files import pdf
    from kong_plugins.metering.estimate import TOKENS_PER_PDF_PAGE
    data = base64.b64encode(pdf(*[f"page {i}" for i in range(11)]) + b"x" * 2_000_000).decode()   # a scan's bulk
    anthropic_pdf = _user({"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                          "data": data}})
    converse_pdf = _user({"document": {"format": "pdf", "name": "d", "source": {"bytes": data}}})
    assert estimate_input_tokens(anthropic_pdf) == 11 * TOKENS_PER_PDF_PAGE
    assert estimate_input_tokens(converse_pdf) == 11 * TOKENS_PER_PDF_PAGE + 1      # and the name, "d"
