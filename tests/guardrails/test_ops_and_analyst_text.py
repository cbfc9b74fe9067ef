"""What operations staff and analysts paste every day passes; the payloads beside it still do not.

Found by an exploratory pass as those users (2026-11-24): identifiers that pass a card's checksum one time in
ten (IBANs, EAN barcodes, Amazon order ids, phone numbers, an export's postcode and the next row's order id),
statistics about security codes, analysts' own SQL and ticket notes were blocked; JSON secrets and several
common injection payloads were not."""

import random

import pytest

from kong_plugins.guardrails.cards import luhn_valid
from kong_plugins.guardrails.scanner import Scanner

SCANNER = Scanner({})


def found(text: str) -> set[str]:
    return set(SCANNER.findings_in(text))


def _iban_de(rng: random.Random, bank_code: str) -> str:
    bban = bank_code + str(rng.randint(10**9, 10**10 - 1))
    check = 98 - int(bban + "131400") % 97            # D=13, E=14, then "00"
    compact = f"DE{check:02d}{bban}"
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _ean13(rng: random.Random) -> str:
    body = rng.choice(["40", "41", "42", "43", "44"]) + "".join(rng.choice("0123456789") for _ in range(10))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _export(rng: random.Random, rows: int) -> str:
    cities = [("Essen", "45127"), ("Dortmund", "44135"), ("Koeln", "50667"), ("Muenchen", "80331")]
    lines = ["order_id,customer,items,total_eur,city,postcode"]
    for i in range(rows):
        city, postcode = rng.choice(cities)
        lines.append(f"{10023100 + i * 7},Cust {i},{rng.randint(1, 4)},{rng.randint(5, 300)}.50,{city},{postcode}")
    return "\n".join(lines)


GENERATED = {
    "order export": lambda rng: _export(rng, 30),
    "order ids, one a line": lambda rng: "Check these:\n" + "\n".join(str(rng.randint(40000000, 59999999))
                                                                      for _ in range(10)),
    "IBAN": lambda rng: f"Refund to IBAN {_iban_de(rng, rng.choice(['60050101', '43050001', '30050110']))}",
    "EAN-13": lambda rng: f"Describe EAN {_ean13(rng)}: cordless drill",
    "Amazon order id": lambda rng: f"Where is order {rng.choice(['302', '305', '403'])}-{rng.randint(10**6, 10**7 - 1)}"
                                   f"-{rng.randint(10**6, 10**7 - 1)}?",
    "German mobile": lambda rng: f"Customer called from +49 15{rng.randint(1, 9)} {rng.randint(10**7, 10**8 - 1)}",
}


@pytest.mark.parametrize("kind", GENERATED)
def test_identifiers_that_pass_a_cards_checksum_are_not_cards(kind):
    rng = random.Random(11)
    texts = [GENERATED[kind](rng) for _ in range(300)]
    assert [t for t in texts if "payment_card" in found(t)] == []


def test_the_generated_identifiers_do_pass_the_checksum_often():
    """The test above means something: about one in ten of these numbers is a Luhn-valid card number."""
    rng = random.Random(11)
    eans = [_ean13(rng) for _ in range(1000)]
    assert sum(luhn_valid(ean) for ean in eans) > 50


@pytest.mark.parametrize("text", [
    "card 4111   1111   1111   1111 please",                     # copied out of a PDF: three spaces
    "please charge 4111 1111\n1111 1111 for the order",         # wrapped once, grouped
    "my card is 41111111\n11111111",                             # wrapped once, on lines of its own
    "Amex 3782 822463 10005", "Diners 3056 930902 5904", "4000 0000 0000 0000 006",
    "old 13-digit visa: 4222222222222"])
def test_cards_as_people_write_them_are_still_found(text):
    assert "payment_card" in found(text)


@pytest.mark.parametrize("text", [
    "Customer says the CVV field kept rejecting her code; 312 CVV failures today. What could cause this?",
    "Decline report for last week - CVV declines: 312, AVS: 120, expired: 45.",
    "Top decline reasons yesterday: CVV 312, AVS 120, insufficient funds 98.",
    "CVV mismatch rate: 312 of 5000 orders. Is that normal?",
    "cvv errors went from 120 to 312 after the checkout release"])
def test_statistics_about_security_codes_are_not_codes(text):
    assert "cvv" not in found(text)


@pytest.mark.parametrize("text", [
    "the security code from the back: 058, go ahead", "card declined twice, her CVV is 123",
    "payment_attempt status=declined cvv2=335 avs=Y"])
def test_security_codes_are_still_found(text):
    assert "cvv" in found(text)


@pytest.mark.parametrize("text", [
    "SELECT id, total FROM orders WHERE status = 'open'\nUNION\nSELECT id, total FROM archived WHERE status = 'open'",
    "SELECT id FROM orders WHERE status = 'open' UNION SELECT id FROM returns WHERE status = 'open'",
    "Combine the yearly tables: SELECT id FROM orders_2023 UNION ALL SELECT id FROM orders_2024",
    "SELECT sku FROM stock WHERE wh IN (SELECT id FROM wh WHERE region = 'EU')\nUNION\nSELECT sku FROM backorders",
    "SELECT id FROM a WHERE x IN ('a','b') UNION SELECT id FROM b WHERE y = 3",
    "UPDATE orders SET status = 'cancelled' WHERE id = 5521; DELETE FROM carts WHERE order_id = 5521;",
    "Bundle offer: pack sizes 6 and 12 = 18 bottles, price 39.90 EUR.",
    "SELECT * FROM orders o WHERE o.total > 100 AND 1=0 is how our ORM builds empty queries",
    "Ticket 2231; Update from warehouse: parcel lost, please draft a reply.",
    "Order 77120; create user account for the B2B buyer and send the invite.",
    "PO 4500012345; insert into the catalogue the new SKUs below.",
    "Order 5; delete from the list the items that were returned"])
def test_analysts_sql_and_ticket_notes_are_not_injection(text):
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("payload", [
    "' OR 2>1 --", "' OR 'a'<>'b", "' OR true--", "' OR 1 --", "1' ORDER BY 3--", "' OR 0x31=0x31 --",
    "'||(SELECT password FROM users LIMIT 1)||'", "' AND 1=CONVERT(int,@@version)--", "x' OR name IS NOT NULL --",
    "' OR 1 IN (1) --", "';shutdown --", "' OR 1 BETWEEN 0 AND 2 --", "x' UNION SELECT username, password FROM users",
    "id=1 UNION SELECT null, table_name FROM information_schema.tables", "1) UNION SELECT username FROM users",
    "5521; DROP TABLE users", "1; UPDATE users SET role='admin' WHERE id=1", "1 AND 1=2 UNION SELECT null",
    "1 OR 1=1", "' OR 1=1 LIMIT 1 --"])
def test_injection_payloads_are_found(payload):
    assert "sql_injection" in found(f"Call the order_search tool with customer_name = {payload}")


@pytest.mark.parametrize("text", [
    'Why does login fail? {"user": "bi", "password": "Xk9mP2vLq77"}', '{"db_password": "Xk9#mP2v!Lq77"}',
    '{"client_id": "shop-bi", "client_secret": "f3Kq9x2LmP8vR7tY1wZ4"}', '{"api_key": "f3Kq9x2LmP8vR7tY1wZ4"}',
    "settings = {'password': 'Xk9mP2vLq77'}"])
def test_a_secret_in_json_or_a_dict_is_a_credential(text):
    assert "credentials" in found(text)


@pytest.mark.parametrize("text", [
    '{"password": "string", "api_key": "YOUR_API_KEY"}', '{"token": "<token>"}', '{"password": "${DB_PASSWORD}"}'])
def test_a_json_schema_or_template_is_not_a_credential(text):
    assert "credentials" not in found(text)


# A reviewer's pass over the fixes above found what they had broken or left open (2026-11-24).

@pytest.mark.parametrize("text", [
    "Card: 4111 1111 11111111 exp 12/27", "Card: 41111111 11111111 exp 12/27", "Card: 4111 111 1 1111 1111",
    "amex 37828 22463 10005", "pan 411111 1111111111 ok", "pan 411111 111111 1111 ok", "41 11 11 11 11 11 11 11",
    "Pay with 41111111\n11111111 please", "Visa:\n411111111111\n1111\n09/27", "card 4111111111\n111111, exp 12/27",
    "Please charge DE88 4111 1111 1111 1111 for the order", "Please charge ZZ21 4111 1111 1111 1111 for the order"])
def test_cards_grouped_otherwise_after_a_cards_name_or_behind_a_false_iban_are_found(text):
    assert "payment_card" in found(text)


def test_a_diners_card_printed_4_6_4_is_a_card_whatever_its_gtin_check_digit():
    """The barcode exemption is for unbroken numbers: 8.7% of Diners cards printed 4-6-4 were missed."""
    rng, missed = random.Random(3), 0
    for _ in range(500):
        body = "36" + "".join(rng.choice("0123456789") for _ in range(11))
        number = next(body + d for d in "0123456789" if luhn_valid(body + d))
        missed += "payment_card" not in found(f"Diners {number[:4]} {number[4:10]} {number[10:]}")
    assert missed == 0


@pytest.mark.parametrize("text", [
    "AVS 94107, CVV is 123", "My card declines every time, the CVV is 123", "Got decline code 05 on her Visa, CVV 123",
    "The CVV that failed was 123", "CVV attempts: customer says 123", "CVV 123 of her Visa ending 1111",
    "CVV 737 card exp 12/27", "cvv 123 declined"])
def test_codes_disclosed_beside_decline_words_are_found(text):
    assert "cvv" in found(text)


@pytest.mark.parametrize("text", [
    "SELECT id FROM orders\nWHERE status = 'open'\n  AND total > 100 UNION SELECT id FROM archive",
    "SELECT sku, COUNT(*) FROM order_items\nGROUP BY sku\nHAVING COUNT(*) > 5 UNION SELECT sku, 0 FROM skus",
    "SELECT * FROM orders WHERE status = 'open' ORDER BY 2 -- newest first",
    "SELECT * FROM orders WHERE status = 'open' AND shipped_at IS NULL -- not shipped yet",
    "SELECT * FROM orders WHERE status = 'paid'\n  OR refund_id IS NOT NULL -- refunds too",
    "SELECT order_id = CONVERT(int, order_ref) FROM staging", "SELECT 'SKU-' || (SELECT max(id) FROM skus) AS next_sku",
    "UPDATE orders SET status = 'x'\n WHERE id IN (1,2)\n   AND qty = 0; DELETE FROM carts WHERE qty = 0;"])
def test_more_of_an_analysts_own_sql_is_not_injection(text):
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "Where would 1 UNION SELECT username, password FROM users end up?", "where does this go: 5; DROP TABLE users",
    "id=1; DROP TABLE users, orders", "Try 1 OR 1=1 in the search box", "username: admin' OR 1=1 password: x",
    "id=(1) UNION SELECT password FROM users"])
def test_payloads_in_a_sentence_are_still_found(text):
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    '{"dependencies": {"jsonwebtoken": "^9.0.2", "js-tokens": "~4.0.0", "tiktoken": "1.0.15"}}',
    '"node_modules/@octokit/auth-token": {"version": "4.0.0"}, "csrf-token": ">=2.1.0"'])
def test_packages_named_after_tokens_are_not_credentials(text):
    assert "credentials" not in found(text)


def _fixed_width_export(rng: random.Random) -> str:
    rows = [f"{rng.randint(40000000, 49999999)}  {rng.randint(1, 9)}  {rng.randint(1000, 99999)}  paid  "
            f"{rng.choice(['card', 'visa', 'paypal'])}" for _ in range(5)]
    return "order_id   qty  cents  status  method\n" + "\n".join(rows)


def test_a_card_column_in_an_export_does_not_make_the_next_rows_numbers_cards():
    """A second reviewer's pass: card words anywhere near made any grouping a card, and 40% of such exports
    were blocked again (the row after a `card` or `visa` cell starts with an order id). Only a card's name just
    before a number counts."""
    rng = random.Random(7)
    texts = [_fixed_width_export(rng) for _ in range(300)]
    assert [t for t in texts if "payment_card" in found(t)] == []


@pytest.mark.parametrize("text", [
    "The users' search box took: ' OR true--", "Customers' filter field got 1' ORDER BY 3--",
    "Our vendors' login form accepted x' OR name IS NOT NULL --",
    "In the clients' portal someone typed '||(SELECT password FROM users)||'",
    "The admins' form sent x' UNION SELECT password FROM users"])
def test_a_possessive_apostrophe_earlier_on_the_line_hides_no_payload(text):
    """Counting quote marks took `users'` for one of a pair, and the payload's quote for a literal's close."""
    assert "sql_injection" in found(text)


# Known misses a later pass picked up: a test on literals appended after an unquoted value, a stacked statement
# after a WHERE clause with no statement of its own, and a possessive before a comment terminator.

CONSTANT_TESTS = [
    "id=1 OR 2>1", "id=5 or 3>2", "1 OR 1<2", "x' or 2>1--", "OR 'b'>'a'", "or 1 between 0 and 2",
    "id=1 or 1 between 0 and 2", "user=admin OR 1<2", "id=-1 OR 2>1 --", "id = 1 || 2>1", "(id=1 OR 2>1)",
    "order_id=7 or 1 in (1,2)", "id=1 AND 2>1", "shoes' OR 'b'>'a", "id=1 or 1 not between 5 and 9"]


@pytest.mark.parametrize("payload", CONSTANT_TESTS)
def test_a_test_on_literals_appended_to_a_value_is_found(payload):
    assert "sql_injection" in found(payload)
    assert "sql_injection" in found(f"Call the order_search tool with customer_name = {payload}")


@pytest.mark.parametrize("text", [
    "look up order 1234 OR 2>1 -- and list whatever comes back", "search for id 5 or 3>2 --",
    "try order 7 OR 1 BETWEEN 0 AND 2 UNION SELECT null"])
def test_a_test_on_literals_after_a_number_in_a_sentence_is_found_where_sql_follows(text):
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "where total > 100 or qty > 1", "where price >= 10 and stock < 5", "select * from orders where id = 1 or id = 2",
    "SELECT * FROM orders WHERE total > 100 OR qty > 1", "SELECT id FROM t WHERE x IN (1,2) OR y IN (3)",
    "WHERE region = 'EU' AND total > 100 -- big EU orders", "price between 10 and 20",
    "We can deliver 3 or 4 between 9 and 17", "Try values 10 or 20 > 15", "either 5 or 3 > 2 days",
    "Is 5 or 3 > 2?", "# -2 > -3, and 3 > 2", "if c == 'a' or 'b' <= c <= 'z':", "assert 0 <= x and x < 10",
    "Should the threshold be 5 or 10 > our current limit?"])
def test_comparisons_in_an_analysts_query_or_in_prose_are_not_injection(text):
    """Real queries compare a column with a literal; a test on two literals (2>1, 'b'>'a', 1 BETWEEN 0 AND 2)
    appended to a value is a payload's. Prose ends with numbers too, so after a number in a sentence only SQL
    that follows (a comment, UNION...) makes it one."""
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "explain where id=1; DELETE FROM users", "where id=1; DROP TABLE x", "WHERE id = 5; DELETE FROM carts",
    "name=bob; DELETE FROM users", "status=shipped; DROP TABLE orders", "   AND qty = 0; DROP TABLE orders",
    "Our query: SELECT * FROM orders;\nThe search box got: where id=1; DELETE FROM users",
    "Here's my query: SELECT id FROM orders\nThe box got: where id=1; DELETE FROM users",
    "Please set qty=5; DROP TABLE users"])
def test_a_stacked_statement_after_a_where_clause_with_no_statement_is_found(text):
    """`_STACKED_AFTER_NUMBER` let a line pass if it looked like SQL at all, and `where id=1` does: the value a
    query's field was given, then the classic `; DELETE FROM users`."""
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "search orders where sku = 'ABC-100' UNION SELECT username, password FROM admin_users --",
    "Use this filter: region = 'EU' UNION SELECT card_number FROM payments",
    "where status = 'open' UNION SELECT password FROM users"])
def test_union_after_a_where_clause_with_no_select_of_its_own_is_found(text):
    """Since the analysts' pass a literal closed on its line before UNION was an analyst's compound query, and the
    tuning corpus' first line here passed (47 of 48): it is one only in a query its author began."""
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "SELECT id\nFROM orders\nWHERE status = 'open' UNION SELECT id FROM returns",
    "Combine these: SELECT sku FROM a WHERE kind = 'x' UNION ALL SELECT sku FROM b WHERE kind = 'y'",
    "INSERT INTO t SELECT id FROM a WHERE s = 'x' UNION SELECT id FROM b"])
def test_union_in_a_query_its_author_began_is_not_injection(text):
    assert "sql_injection" not in found(text)


MIGRATION = """Is this cleanup safe to run in one transaction?
BEGIN;
DELETE FROM carts WHERE updated_at < now() - interval '90 days';
DELETE FROM cart_items WHERE cart_id NOT IN (SELECT id FROM carts);
DROP TABLE IF EXISTS tmp_carts_2023;
UPDATE orders SET archived = true WHERE id < 100000; DELETE FROM order_locks WHERE order_id < 100000;
ALTER TABLE orders ALTER COLUMN archived SET DEFAULT false; DROP TABLE tmp_archive;
COMMIT;"""


@pytest.mark.parametrize("text", [
    MIGRATION, "SELECT *\nFROM orders WHERE id = 42; DELETE FROM carts WHERE order_id = 42;",
    "SELECT id FROM orders ORDER BY id LIMIT 10; DROP TABLE tmp_import;",
    "DELETE FROM carts WHERE id = 5; DROP TABLE tmp;", "CREATE TABLE tmp AS SELECT 1; DROP TABLE tmp;",
    "ALTER TABLE orders ALTER COLUMN qty SET DEFAULT 0; DROP TABLE tmp;",
    "Can you check this: SET lock_timeout TO 5000; DELETE FROM carts WHERE order_id = 42;",
    "Is this safe to run?\nSET statement_timeout = 0; TRUNCATE TABLE staging;",
    "UPDATE t SET note = 'a;b' WHERE id = 5; DELETE FROM c WHERE id = 5",
    "price=10; update the table with the new price", "qty=5; delete from the list the returned items"])
def test_an_analysts_or_a_migrations_several_statements_are_not_injection(text):
    """A `;` that ends a statement its author began (SELECT ... FROM, UPDATE ... SET, ALTER TABLE, SET x = ...)
    is a script's; `ALTER ... SET DEFAULT 0; DROP TABLE tmp` and `CREATE TABLE tmp AS SELECT 1; DROP ...` were
    blocked before."""
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "The users' login took admin'--", "Our customers' login form took bob' #", "username f' OR true --",
    "u' UNION SELECT password FROM users", "the sellers' portal got x' OR name IS NOT NULL --"])
def test_one_quote_model_a_possessive_or_a_one_letter_value_hides_no_payload(text):
    """sql.py had two ways of deciding whether a quote is left open: counting quote marks (comment terminators) and
    reading literals left to right (the other quote-led shapes). One is left, for every shape: a possessive
    (`users'` before a word that is no SQL) is no quote mark, and a string prefix (b'', f"") makes a literal only
    when the literal closes on its line."""
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    '    """splittype(\'type:opaquestring\') --> \'type\', \'opaquestring\'."""', 'return f" # type: {comment}"',
    "PATTERN = rb'#+ *$'  # markdown headings", "if line.startswith(b\"--\" + boundary):",
    "SELECT * FROM orders WHERE status = 'open' ORDER BY 2 -- newest first",
    "the customers' orders -- all of them -- were late"])
def test_one_quote_model_literals_closed_on_their_line_are_not_payloads(text):
    assert "sql_injection" not in found(text)


# Continued in test_sql_statements.py (2026-11-25): a sentence's "select ... from" before a stacked statement, an
# analyst's own statements ending in a literal, a bracket or a PL/pgSQL assignment, and one model of the author's SQL.
