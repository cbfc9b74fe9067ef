"""What a user turn carries besides typed text reaches the model too, so it is scanned: Responses' output_text
and refusal parts, Converse guardContent, documents made of content blocks, search results, a document's title,
context and name, and the user turns inside a Bedrock CountTokens body."""

import base64
import json

import pytest

from kong_plugins.guardrails.scanner import Scanner

PAN = "4111 1111 1111 1111"
CARD = f"my card is {PAN}"
CLEAN = "where is order 5521?"


def _responses(part):
    return {"model": "haiku", "input": [{"role": "user", "content": [part]}]}


def _converse(block):
    return {"messages": [{"role": "user", "content": [block]}]}


def _anthropic(block):
    return {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": [block]}]}


def _invoke_count(body: dict) -> dict:
    return {"input": {"invokeModel": {"body": base64.b64encode(json.dumps(body).encode()).decode()}}}


BODIES = {
    "responses output_text": lambda text: _responses({"type": "output_text", "text": text}),
    "responses refusal": lambda text: _responses({"type": "refusal", "refusal": text}),
    "conversation item output_text": lambda text: {"items": [
        {"type": "message", "role": "user", "content": [{"type": "output_text", "text": text}]}]},
    "chat text that is no string": lambda text: {"messages": [
        {"role": "user", "content": [{"type": "text", "text": {"note": text}}]}]},
    "converse guardContent": lambda text: _converse({"guardContent": {"text": {"text": text}}}),
    "converse document content": lambda text: _converse(
        {"document": {"format": "txt", "name": "a", "source": {"content": [{"text": text}]}}}),
    "converse document context": lambda text: _converse(
        {"document": {"format": "txt", "name": "a", "context": text, "source": {"text": "returns"}}}),
    "converse document name": lambda text: _converse(
        {"document": {"format": "txt", "name": text.replace("?", ""), "source": {"text": "returns"}}}),
    "converse searchResult": lambda text: _converse(
        {"searchResult": {"source": "s", "title": "t", "content": [{"text": text}]}}),
    "converse searchResult title": lambda text: _converse(
        {"searchResult": {"source": "s", "title": text, "content": [{"text": "returns"}]}}),
    "anthropic search_result": lambda text: _anthropic(
        {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": text}]}),
    "anthropic search_result source": lambda text: _anthropic(
        {"type": "search_result", "source": text, "title": "t", "content": [{"type": "text", "text": "x"}]}),
    "anthropic document title": lambda text: _anthropic({"type": "document", "title": text,
                                                         "source": {"type": "text", "media_type": "text/plain",
                                                                    "data": "returns"}}),
    "anthropic document context": lambda text: _anthropic({"type": "document", "context": text,
                                                           "source": {"type": "text", "media_type": "text/plain",
                                                                      "data": "returns"}}),
    "anthropic document content": lambda text: _anthropic({"type": "document", "source": {
        "type": "content", "content": [{"type": "text", "text": f"<system-reminder>{text}</system-reminder>"}]}}),
    "count-tokens converse": lambda text: {"input": {"converse": {
        "messages": [{"role": "user", "content": [{"text": text}]}]}}},
    "count-tokens invokeModel": lambda text: _invoke_count(
        {"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": text}]}),
    "count-tokens invokeModel, not JSON": lambda text: {"input": {"invokeModel": {
        "body": base64.b64encode(text.encode()).decode()}}},
}


@pytest.mark.parametrize("shape", BODIES)
def test_a_card_anywhere_in_a_user_turn_is_found(shape):
    assert Scanner({}).scan(json.dumps(BODIES[shape](CARD)).encode()).found == {"payment_card": "block"}
    assert Scanner({}).scan(json.dumps(BODIES[shape](CLEAN)).encode()).found == {}


@pytest.mark.parametrize("shape", ["responses output_text", "converse guardContent", "converse document content",
                                   "converse searchResult", "anthropic search_result", "anthropic document title",
                                   "count-tokens converse", "count-tokens invokeModel"])
def test_a_redaction_there_is_written_where_the_card_was(shape):
    result = Scanner({"payment_card": "redact"}).scan(json.dumps(BODIES[shape](CARD)).encode())
    assert result.found == {"payment_card": "redact"}
    sent, expected = json.loads(result.body), BODIES[shape]("my card is [REDACTED:payment_card]")
    if shape == "count-tokens invokeModel":                        # the InvokeModel body, in base64 again
        sent, expected = (json.loads(base64.b64decode(b["input"]["invokeModel"]["body"])) for b in (sent, expected))
    assert sent == expected


def test_what_is_not_the_users_stays_unscanned():
    """Assistant turns, system prompts and (without scan_tool_results) tool results, in the new shapes too."""
    assistant = {"role": "assistant", "content": [{"type": "output_text", "text": CARD}]}
    assert Scanner({}).scan(json.dumps({"input": [assistant]}).encode()).found == {}
    count = {"input": {"converse": {"system": [{"text": CARD}], "messages": [
        {"role": "assistant", "content": [{"text": CARD}]}, {"role": "user", "content": [{"text": CLEAN}]}]}}}
    assert Scanner({}).scan(json.dumps(count).encode()).found == {}
    result = {"toolResult": {"toolUseId": "t", "content": [{"json": {"rows": [{"card": PAN}]}}]}}
    assert Scanner({}).scan(json.dumps(_converse(result)).encode()).found == {}
    assert Scanner({"scan_tool_results": True}).scan(json.dumps(_converse(result)).encode()).blocked == [
        "payment_card"]


def test_a_count_tokens_body_that_is_not_base64_is_unreadable():
    body = json.dumps({"input": {"invokeModel": {"body": "{not base64}"}}}).encode()
    assert Scanner({}).scan(body).blocked == ["unreadable_document"]
    assert Scanner({}).scan(body).unreadable == ["the embedded request body is not valid base64"]
    assert Scanner({"unreadable_document": "off"}).scan(body).found == {}
