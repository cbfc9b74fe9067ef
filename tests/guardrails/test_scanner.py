"""Scanner behaviour beyond precision/recall: scope, redaction, odd bodies, presets."""

import json
import random

import pytest
import re2

from kong_plugins.guardrails.cards import luhn_valid
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
    assert Scanner({}).scan(request, from_claude_code=True).found == {}
    assert Scanner({"scan_tool_results": True}).scan(request, from_claude_code=True).found == {"credentials": "block"}
    assert Scanner({"scan_system_reminders": True}).scan(request, from_claude_code=True).found == {
        "credentials": "block"}


def test_a_system_reminder_from_another_client_is_the_users_text():
    """Only Claude Code's reminders are its own: from an OpenAI SDK or curl, the tag hides nothing."""
    for text in ["<system-reminder>4111 1111 1111 1111</system-reminder> book it",
                 "<system-reminder>x' OR 1=1 --</system-reminder>",
                 "<system-reminder>AKIAQ3EGUDJZ7XKPLM2B</system-reminder>"]:
        for request in (body(messages=[{"role": "user", "content": text}]),
                        body(messages=[{"role": "user", "content": [{"type": "text", "text": text}]}])):
            assert Scanner({}).scan(request).blocked, text
            assert not Scanner({}).scan(request, from_claude_code=True).blocked, text


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
    from bench.guardrails import random_words_and_punctuation
    text = random_words_and_punctuation(1_000_000, random.Random(11)) + "\n\nPlease charge card 4111 1111 1111 1111 now."
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



def test_a_range_test_on_literals_of_thousands_of_digits_neither_raises_nor_blocks():
    """`id=1 OR 1 BETWEEN 0 AND 2` is checked by value, and int() refuses more than 4,300 digits."""
    for text in ["id=1 OR " + "9" * 5000 + " BETWEEN 0 AND 2", "id=1 or 1 in (" + "7" * 5000 + ", 8)"]:
        assert Scanner({}).scan(body(messages=[{"role": "user", "content": text}])).found == {}
    assert Scanner({}).scan(body(messages=[{"role": "user", "content": "id=1 OR 1 BETWEEN 0 AND 2"}])).blocked == [
        "sql_injection"]

def _with_luhn_digit(prefix_and_body: str) -> str:
    """The number with the check digit that makes it pass Luhn."""
    return next(prefix_and_body + last for last in "0123456789" if luhn_valid(prefix_and_body + last))


def _grouped(digits: str) -> str:
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


@pytest.mark.parametrize("network,prefix_and_body", [
    ("Mir", "220012345678901"), ("Troy", "979212345678901"), ("Maestro", "676312345678901"),
    ("Elo", "506710123456789"), ("Verve", "506100123456789"), ("RuPay", "608112345678901"),
    ("RuPay", "821234567890123"), ("UnionPay 81", "810012345678901"), ("Dankort", "501912345678901")])
def test_the_card_networks_beyond_visa_and_mastercard(network, prefix_and_body):
    number = _with_luhn_digit(prefix_and_body)
    broken = number[:-1] + str((int(number[-1]) + 1) % 10)
    scanner = Scanner({})
    assert scanner.scan(body(messages=[{"role": "user", "content": f"pay with {_grouped(number)} please"}])) \
        .blocked == ["payment_card"], network
    assert scanner.scan(body(messages=[{"role": "user", "content": f"ref {_grouped(broken)} please"}])).found == {}


def test_cards_written_with_dots_or_form_encoded():
    scanner = Scanner({})
    for text in ["card 4111.1111.1111.1111 exp 09/27", "POST /pay card=4111+1111+1111+1111&exp=0927",
                 "GET /checkout?pan=5555%205555%205555%204444&cvc=", "pan=4111%2D1111%2D1111%2D1111"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).blocked == ["payment_card"], text
    for text in ["lat 41.1234567890123, lon 2.1734035", "version 4111.1111.1111 is out",
                 "x = 4000+1111+2222+3333  # a sum", "price=41.11+11.11"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).found == {}, text


def test_four_digit_groups_in_a_hex_table_are_not_a_card():
    """xxd dumps and Unicode code-point tables hold runs of four hex digits; some runs are all decimal."""
    xxd = ("00000000: 2321 2f75 7372 2f62 696e 2f65 6e76 2070  #!/usr/bin/env p\n"
           "00000010: 4111 1111 1111 1111 7974 686f 6e33 0a0a  ython3..\n")
    code_points = "51E8 51E9 51EA 51EB 51FC 520E 520F 5210\n5211 5212 5213 5214 5215 5216 5217 5218"
    scanner = Scanner({})
    for text in (xxd, code_points):
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).found == {}
    assert scanner.scan(body(messages=[{"role": "user", "content": "CAFE order paid with 4111 1111 1111 1111"}])) \
        .blocked == ["payment_card"]


def test_a_card_run_together_with_its_expiry_or_a_reference_is_found():
    """The pattern takes the longest run of digit groups, so `4111 1111 1111 1111 07/27` once read as 18 digits
    that are no card; every run of whole groups is now tried."""
    scanner = Scanner({})
    for text in ["key this in for me 6529 6436 6061 9152 07/27, 64.99 for the boots",
                 "4111-1111-1111-1111 12/28 cvv on the back", "ref 12 5555 5555 5555 4444 paid",
                 "4111111111111111 07/27", "card number 1234 5678 9012 3452 07/27"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).blocked == ["payment_card"], text
    for text in ["4111 1111 1111 1112 07/27", "tracking 0034 0434 1612 3456 7890 12", "2021 2022 2023 2024 2025 2026"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).found == {}, text


def test_thousands_of_card_like_numbers_are_a_finding_but_thousands_of_table_rows_are_not():
    """Padding past the candidate limit cannot hide a card (the whole text is the finding); a table whose rows
    end and start with numbers (an order export: id first, postcode last) matches the wrapped-card pattern at
    every row, and is still no card."""
    scanner = Scanner({})
    padded = "\n\n".join(["ref 4111 1111 1111 1112"] * 3000)                # not Luhn-valid, but card-shaped
    assert scanner.scan(body(messages=[{"role": "user", "content": padded}])).blocked == ["payment_card"]
    export = "\n".join(f"{10000 + n},merino scarf,2,39.80,{10115 + n % 7}" for n in range(3000))
    assert scanner.scan(body(messages=[{"role": "user", "content": "Summarise:\n" + export}])).found == {}
    sheet = "\n".join(f"{n}\tmerino scarf\t2\t39.8\t2026-11-0{n % 9 + 1}" for n in range(20000))
    assert scanner.scan(body(messages=[{"role": "user", "content": sheet}])).found == {}
    assert scanner.scan(body(messages=[{"role": "user", "content": export[:2000] + "\ncard 4111 1111\n1111 1111"}])
                        ).blocked == ["payment_card"]                          # a short table: still looked at


def test_a_card_wrapped_once_across_two_lines_is_found_and_redacted_whole():
    """E-mail clients and narrow text boxes wrap a long number; a column of amounts is not one number."""
    scanner = Scanner({})
    for text in ["please charge 4111 1111\n1111 1111 for the order", "card: 5555 5555 5555\r\n4444 thanks",
                 "pay with 4111-1111-  \n  1111-1111", "my card is 41111111\n11111111"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).blocked == ["payment_card"], text
    for text in ["totals\n4111\n1111\n1111\n1111\n", "order 4111 1111\n\n1111 1111 items",
                 "4111 1111\n1111 1112", "2021 2022\n2023 2024"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).found == {}, text
    redacting = Scanner({"payment_card": "redact"})
    result = redacting.scan(body(messages=[{"role": "user", "content": "charge 4111 1111\n1111 1111 today"}]))
    assert json.loads(result.body)["messages"][0]["content"] == "charge [REDACTED:payment_card] today"


def test_a_card_with_tabs_between_its_groups_is_found_but_tables_of_numbers_are_not():
    """A form of four fields pastes its groups with tabs between; a table's columns (an export's rows, a sheet's
    cells, which documents read with tabs between) are no card, though four columns of four-digit numbers are a
    Luhn-valid card of a known issuer one row in thirty."""
    scanner = Scanner({})
    for text in ["4111\t1111\t1111\t1111", "my card is 4111\t1111\t1111\t1111, exp 07/27", "amex 3782\t822463\t10005",
                 "Hi,\n5555 \t5555\t5555\t4444\nthanks", "4111\t1111\t1111\t1111\t0727"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).blocked == ["payment_card"], text
    rng = random.Random(5)
    four_columns = "\n".join("\t".join(str(rng.randint(1000, 9999)) for _ in range(4)) for _ in range(20000))
    six_columns = "\n".join(f"{60000 + n}\t{rng.randint(1000, 9999)}\t{rng.randint(1000, 9999)}\t"
                            f"{rng.randint(1000, 9999)}\t{rng.randint(1000, 9999)}\t{rng.randint(10000, 99999)}"
                            for n in range(3000))
    with_a_header = "sku\tq1\tq2\tq3\n" + four_columns[:40 * 25]
    for text in [four_columns, four_columns[:40 * 30], six_columns, with_a_header, "4111\t1111\t1111\t1112"]:
        assert scanner.scan(body(messages=[{"role": "user", "content": text}])).found == {}, text[:80]
    result = Scanner({"payment_card": "redact"}).scan(body(messages=[
        {"role": "user", "content": "charge 4111\t1111\t1111\t1111 today"}]))
    assert json.loads(result.body)["messages"][0]["content"] == "charge [REDACTED:payment_card] today"
