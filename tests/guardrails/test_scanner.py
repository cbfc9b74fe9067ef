"""Scanner behaviour beyond precision/recall: scope, redaction, odd bodies, presets."""

import json

from kong_plugins.guardrails.scanner import Scanner


def body(**request):
    return json.dumps(request).encode()


def test_redaction_replaces_only_the_numbers_and_keeps_valid_json():
    scanner = Scanner({"payment_card": "redact", "cvv": "redact"})
    text = "card number 4111-1111-1111-1111, cvc: 123 — also 5555 5555 5555 4444 ünïcode"
    result = scanner.scan(body(messages=[{"role": "user", "content": [{"type": "text", "text": text}]}]))
    redacted = json.loads(result.body)["messages"][0]["content"][0]["text"]
    assert redacted == ("card number [REDACTED:payment_card], cvc: [REDACTED:cvv] — also "
                        "[REDACTED:payment_card] ünïcode")
    assert result.found == {"payment_card": "redact", "cvv": "redact"}


def test_block_wins_over_redact_and_nothing_is_rewritten():
    scanner = Scanner({"payment_card": "redact"})
    result = scanner.scan(body(messages=[{"role": "user", "content": "4111 1111 1111 1111 and ' OR 1=1 --"}]))
    assert result.blocked == ["sql_injection"] and result.body is None


def test_scope_user_turns_tool_results_and_reminders():
    content = [{"type": "text", "text": "<system-reminder>password: Adm1n!x</system-reminder>hello"},
               {"type": "tool_result", "tool_use_id": "t", "content": "AKIAIOSFODNN7EXAMPLE"}]
    request = body(system="password: Adm1n!x", messages=[{"role": "user", "content": content}])
    assert Scanner({}).scan(request).found == {}
    assert Scanner({"scan_tool_results": True}).scan(request).found == {"credentials": "block"}
    assert Scanner({"scan_system_reminders": True}).scan(request).found == {"credentials": "block"}


def test_converse_and_openai_tool_messages():
    converse = body(messages=[{"role": "user", "content": [{"text": "cvv 123"}]}])
    assert Scanner({}).scan(converse).blocked == ["cvv"]
    tool = body(messages=[{"role": "tool", "tool_call_id": "c", "content": "4111 1111 1111 1111"}])
    assert Scanner({}).scan(tool).found == {}
    assert Scanner({"scan_tool_results": True}).scan(tool).blocked == ["payment_card"]


def test_odd_bodies_never_raise():
    scanner = Scanner({"payment_card": "redact"})
    assert scanner.scan(b"\xff\xfe not json 4111 1111 1111 1111").blocked == ["payment_card"]   # redact -> block
    assert scanner.scan(b"[1, 2, 3]").found == {}
    assert scanner.scan(b"").found == {}
    assert scanner.scan(b"[" * 100_000).found == {}
    assert scanner.scan(body(messages="not a list")).found == {}
    assert scanner.scan(body(messages=[None, 3, {"role": "user", "content": 42}])).found == {}


def test_custom_patterns_and_off():
    scanner = Scanner({"custom_patterns": [{"category": "internal_sku", "pattern": r"\bSKU-\d{6}\b",
                                            "action": "block"}], "sql_injection": "off"})
    request = body(messages=[{"role": "user", "content": "ship SKU-123456 to ' OR 1=1 --"}])
    assert scanner.scan(request).blocked == ["internal_sku"]
