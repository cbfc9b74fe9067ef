"""The scanner's configuration: a custom pattern RE2 refuses is reported, not raised."""

from kong_plugins.guardrails.scanner import Scanner


def test_a_custom_pattern_re2_refuses_is_reported_by_category_and_the_others_still_run():
    scanner = Scanner({"custom_patterns": [{"category": "sku", "pattern": "SKU-(\\d+"},
                                           {"category": "lookahead", "pattern": "(?=a)a"},
                                           {"category": "gift_card", "pattern": "GC-[0-9]{8}", "action": "block"}]})
    assert scanner.invalid_patterns == ["sku", "lookahead"]
    result = scanner.scan(b'{"messages": [{"role": "user", "content": "redeem GC-12345678 please"}]}')
    assert result.blocked == ["gift_card"]


def test_text_that_cannot_be_rewritten_turns_a_redaction_into_a_block_and_never_weakens_one():
    from kong_plugins.guardrails.scanner import ScanResult
    scanner = Scanner({"payment_card": "redact"})
    result = ScanResult(found={"payment_card": "monitor"})
    scanner.scan_unwritable('{"ticket": "4111 1111 1111 1111"}', result)
    assert result.found == {"payment_card": "block"}
    strict = ScanResult(found={"payment_card": "block"})
    Scanner({"payment_card": "monitor"}).scan_unwritable("4111 1111 1111 1111", strict)
    assert strict.found == {"payment_card": "block"}


def test_a_redaction_in_converse_request_metadata_blocks_since_bedrock_refuses_the_marker_there():
    scanner = Scanner({"payment_card": "redact"})
    native = scanner.scan(b'{"requestMetadata": {"card": "4111111111111111"}, "messages": []}')
    assert native.blocked == ["payment_card"] and native.body is None
    openai = scanner.scan(b'{"metadata": {"card": "4111111111111111"}, "messages": []}')
    assert openai.blocked == [] and b"[REDACTED:payment_card]" in openai.body   # cleaned to Bedrock's charset later
