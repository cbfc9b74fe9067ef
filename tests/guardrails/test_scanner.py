"""Scanner behaviour beyond precision/recall: scope, redaction, odd bodies, presets."""

import json

import pytest
import re2

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


def _key(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def provider_keys():
    """Keys in each provider's published format, random bodies (built here, so none is committed)."""
    import random
    import string
    rng = random.Random(5)
    alnum, hexdigits = string.ascii_letters + string.digits, "0123456789abcdef"
    return {
        "GitLab": "glpat-" + _key(rng, alnum + "_-", 20),
        "Google API": "AIza" + _key(rng, alnum + "_-", 35),
        "Azure storage": "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=" + _key(rng, alnum + "+/", 86) + "==",
        "Twilio": "SK" + _key(rng, hexdigits, 32),
        "Shopify": "shpat_" + _key(rng, hexdigits, 32),
        "npm": "npm_" + _key(rng, alnum, 36),
        "Hugging Face": "hf_" + _key(rng, string.ascii_letters, 34),
        "Slack webhook": "https://hooks.slack.com/services/T0" + _key(rng, alnum, 8) + "/B0" + _key(rng, alnum, 8)
                         + "/" + _key(rng, alnum, 24),
        "Square": "sq0atp-" + _key(rng, alnum + "_-", 22),
        "Mailgun": "key-" + _key(rng, hexdigits, 32),
    }


def test_provider_key_formats_are_credentials():
    scanner = Scanner({})
    for provider, key in provider_keys().items():
        found = scanner.scan(body(messages=[{"role": "user", "content": f"the {provider} key is in the bundle: {key}"}]))
        assert found.blocked == ["credentials"], provider


def test_basic_auth_header_counts_when_it_carries_a_password():
    import base64
    scanner = Scanner({})
    real = base64.b64encode(b"warehouse:Lager2024!Nord").decode()
    placeholder = base64.b64encode(b"user:password").decode()
    assert scanner.scan(body(messages=[{"role": "user", "content": f"Authorization: Basic {real} gets a 401"}])).blocked \
        == ["credentials"]
    assert scanner.scan(body(messages=[{"role": "user", "content": f"Authorization: Basic {placeholder} as in the docs"}])
                        ).found == {}
    assert scanner.scan(body(messages=[{"role": "user", "content": "Basic Instructions for the new warehouse staff"}])
                        ).found == {}


def test_security_codes_and_passwords_in_the_shops_other_languages():
    scanner = Scanner({})
    for category, text in [("credentials", "Das Passwort für den Shop-Zugang lautet Kx8!mPq2"),
                           ("credentials", "mon mot de passe c'est Soleil#2024"),
                           ("credentials", "la contraseña es Perro#2024"),
                           ("cvv", "der Sicherheitscode ist 123"),
                           ("cvv", "le code de sécurité: 4821"),
                           ("cvv", "il codice di sicurezza è 482"),
                           ("cvv", "o código de segurança é 771")]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).blocked == [category], text
    for text in ["Das Passwort muss 12 Zeichen haben", "das Passwort ist 12 Zeichen lang",
                 "le mot de passe est obligatoire", "la contraseña es incorrecta",
                 "Passwort vergessen? Link: https://shop.example/reset", "der Sicherheitscode fehlt bei 312 Bestellungen"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).found == {}, text


def test_a_payload_after_a_megabyte_of_random_words_and_punctuation_is_still_found():
    """Noise of this kind multiplies the states of one big automaton; the prefilter's sets stay smaller,
    with bounded memory, and a bounded cache must not make it miss what follows."""
    import random
    rng = random.Random(11)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 ' \" ; = : - # / * ( ) @ . , \näöüéèñ€"
    words = "select union drop table or and password token secret card refund coupon order price stack".split()
    parts, size = [], 0
    while size < 1_000_000:
        part = rng.choice(words) if rng.random() < 0.3 else "".join(rng.choices(alphabet, k=rng.randint(1, 12)))
        parts.append(part)
        size += len(part) + 1
    text = " ".join(parts) + "\n\nPlease charge card 4111 1111 1111 1111 now."
    assert "payment_card" in Scanner({}).scan(body(messages=[{"role": "user", "content": text}])).blocked


def test_a_prefilter_squeezed_far_below_its_memory_budget_still_sees_every_payload(monkeypatch):
    """RE2::Set::Match reports a DFA out of memory as "no match", and the Python binding cannot ask
    why. RE2 never gives up on a set for a cache that keeps filling (dfa.cc bails out to the NFA
    only when `kind_ != Prog::kManyMatch`: a set just flushes and goes on), and a budget too small
    to start raises at Compile. So a bounded cache costs time, never a miss: at 512 KiB, 64 times
    below the budget shipped, the same text yields the same patterns."""
    import random
    from bench.guardrails import random_words_and_punctuation
    from kong_plugins.guardrails import detectors

    noise = random_words_and_punctuation(200_000, random.Random(5)).encode()
    tails = (b"\nPlease charge card 4111 1111 1111 1111 now.", b"\nthe cvv is 123",
             b"\nAKIAQ3EGUDJZ7XKPLM2B", b"\n-----BEGIN RSA PRIVATE KEY-----")   # patterns the noise alone misses
    texts = [noise] + [noise + tail for tail in tails]
    shipped = detectors.Prefilter()
    monkeypatch.setattr(detectors, "SET_MAX_MEM", 512 << 10)
    squeezed = detectors.Prefilter()
    for text in texts:
        assert squeezed.active(text) == shipped.active(text)
    assert all(shipped.active(text) > shipped.active(noise) for text in texts[1:])
    monkeypatch.setattr(detectors, "SET_MAX_MEM", 64 << 10)
    with pytest.raises(re2.error):
        detectors.Prefilter()
