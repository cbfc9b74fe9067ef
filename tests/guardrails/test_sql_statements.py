"""Stacked statements and UNION: an analyst's own multi-statement SQL passes, a payload after a value does not.

Gaps the analysts' passes left (tests/guardrails/test_ops_and_analyst_text.py, last section), 2026-11-25:
- `select the items from order id=1; DELETE FROM users` passed: a sentence's "select ... from" counted as the
  author's own statement, so the DELETE stacked after `id=1` counted as the author's too. A statement's value sits
  in a clause (`WHERE id = 1`, `LIMIT 10`, `VALUES (`), and a sentence's verb takes a noun phrase (`select the`).
- `SELECT * FROM orders WHERE ref = 'A1'; DELETE FROM carts ...` and `INSERT INTO t VALUES (1); DELETE FROM t ...`
  were blocked: any quote or bracket before `; DELETE` was a payload's. Now only one that closes what the query
  opened (`A1'; DELETE`, `1); DROP`), or one in no statement of the author's (`ref = 'A1'; DELETE`), is.
- PL/pgSQL's `x := 5; DELETE FROM t WHERE id = x;` in a function body was blocked as `x = 5; DELETE ...`.
- sql.py had two models of "this is the author's own SQL", one for UNION after a number (`where id=1 UNION SELECT`
  passed as SQL) and one for the rest; there is one now.
Every case of the first two lists below failed on the sql.py before this change (as did the COMMENT ON script
of the fourth); the others held before and guard the fix's edges."""


import pytest

from kong_plugins.guardrails.scanner import Scanner

SCANNER = Scanner({})


def found(text: str) -> set[str]:
    return set(SCANNER.findings_in(text))


PLPGSQL = """CREATE OR REPLACE FUNCTION expire_carts() RETURNS void AS $$
DECLARE
  x integer;
BEGIN
  x := 5; DELETE FROM t WHERE id = x;
  total numeric := 0; DELETE FROM carts WHERE id = 1;
  v_count := v_count + 1; DELETE FROM carts WHERE id = v_count;
END;
$$ LANGUAGE plpgsql;"""


@pytest.mark.parametrize("text", [
    "select the items from order id=1; DELETE FROM users", "Select the items from order id=1; DROP TABLE users",
    "select items from order id=1; DELETE FROM users", "select items from order 5521; DROP TABLE users",
    "please select all the items from order id = 7; DELETE FROM users",
    "select the items from order where id=1; DELETE FROM users", "update the cart set qty=5; DELETE FROM users",
    "select everything from orders for customer id=7; DROP TABLE users",
    "select the items from order 5 UNION SELECT password FROM users",
    "where id=1 UNION SELECT password FROM users", "WHERE total > 100 UNION SELECT card_number FROM payments"])
def test_a_statement_after_a_value_in_a_sentence_is_found(text):
    """A sentence's "select ... from" begins no statement, and a value a sentence gives (`order id=1`, `order 5521`)
    sits in no clause of one."""
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "SELECT * FROM orders WHERE ref = 'A1'; DELETE FROM carts WHERE expired = 1",
    "select * from orders where ref = 'A1'; delete from carts where expired = 1",
    "SELECT *\nFROM orders\nWHERE ref = 'A1'; DELETE FROM carts WHERE expired = 1",
    "Can you review this? SELECT * FROM orders WHERE ref = 'A1'; DELETE FROM carts WHERE expired = 1;",
    "SELECT id FROM orders WHERE created_at > DATE '2024-01-01'; DROP TABLE tmp_orders;",
    "SELECT * FROM orders WHERE name LIKE 'A%'; DROP TABLE tmp;",
    "SELECT * FROM orders WHERE ref = 'A1'; DELETE FROM carts WHERE expired = 1; -- old carts",
    "INSERT INTO t VALUES (1); DELETE FROM t WHERE id = 2",
    "INSERT INTO t (id, name) VALUES (1, 'a'); DELETE FROM t WHERE id = 2",
    "insert into t values (1), (2); update t set x = 1 where id = 2", "INSERT INTO t VALUES ('a'); DROP TABLE t_old",
    "CREATE TABLE tmp (id int); DROP TABLE tmp_old;",
    "x := 5; DELETE FROM t WHERE id = x;", "x := 'a'; DELETE FROM t WHERE name = x;", PLPGSQL])
def test_an_analysts_own_statements_ending_in_a_literal_a_bracket_or_an_assignment_pass(text):
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "ref = 'A1'; DELETE FROM carts WHERE expired = 1", "search orders where ref = 'A1'; DELETE FROM carts",
    "select the orders where ref = 'A1'; DELETE FROM carts",
    "select the items from order where ref = 'A1'; DELETE FROM users",
    "A1'; DELETE FROM carts", "SELECT * FROM orders WHERE ref = 'A1''; DELETE FROM carts", "1); DELETE FROM t",
    "SELECT * FROM t WHERE id IN (1)); DROP TABLE users", "VALUES (1); DELETE FROM t", "the box got (1); DELETE FROM t",
    "INSERT INTO Students VALUES ('Robert'); DROP TABLE Students;--');",
    "SELECT * FROM users WHERE name = 'x'; DROP TABLE users; --",
    "Our query: SELECT * FROM orders;\nThe search box got: name = 'bob'; DELETE FROM users",
    "SELECT * FROM orders WHERE id = 5\nname = 'bob'; DELETE FROM users",
    "x = 5; DELETE FROM t", "x := a'; DELETE FROM t"])
def test_a_statement_after_a_quote_or_bracket_the_query_opened_or_in_no_statement_is_found(text):
    """The attacker's quote closes the value the query opened (an odd count on its line, or a bracket the line never
    opened), or the value has no statement of its author's; a comment left with nothing to say swallows the rest
    of the query (`--');`)."""
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "SELECT id FROM t WHERE id = 1 UNION SELECT id FROM u",
    "SELECT id FROM orders WHERE total > 100 UNION SELECT id FROM archive",
    "SELECT id FROM a WHERE x = $1; DELETE FROM b WHERE y = $1",
    "SELECT * FROM orders ORDER BY id LIMIT 10; DROP TABLE tmp_import;",
    "UPDATE orders SET note = 'late' WHERE id = 5; DELETE FROM carts WHERE order_id = 5;",
    "COMMENT ON TABLE orders IS 'one row per order'; ALTER TABLE orders ADD COLUMN note text;"])
def test_a_value_in_a_clause_of_the_authors_statement_still_passes(text):
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "SELECT * FROM customers WHERE last_name = 'O''Brien'; DELETE FROM carts WHERE customer_id = 7;",
    "UPDATE customers SET note = 'it''s late' WHERE id = 7; DELETE FROM carts WHERE customer_id = 7;",
    "SELECT id FROM t WHERE name = 'O''Brien' UNION SELECT id FROM u WHERE name = 'D''Arcy'"])
def test_an_escaped_quote_ends_the_authors_own_value(text):
    """2026-11-25, after the change above: `'O''Brien'` (SQL's quote inside a literal) was read as two literals, and
    the second, `'Brien'`, as in no clause."""
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "name = 'O''Brien'; DELETE FROM carts", "SELECT * FROM t WHERE a = 'O''Brien''; DELETE FROM carts",
    "x''; DROP TABLE users"])
def test_escaped_quotes_hide_no_payload(text):
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "SELECT * FROM orders WHERE note = N'abc'; DROP TABLE #tmp;", "select * from t where a = n'abc'; drop table t2;",
    "SELECT id FROM t WHERE name = N'Ab' UNION SELECT id FROM u WHERE name = N'Cd'",
    "SELECT * FROM customers WHERE name = N'O''Brien'; DELETE FROM carts WHERE customer_id = 7;",
    "SELECT * FROM t WHERE code = E'abc'; DROP TABLE tmp;", "SELECT * FROM t WHERE h = X'0A'; DROP TABLE tmp;"])
def test_a_typed_literal_ends_the_authors_own_value(text):
    """2026-11-25, after the change above: `N'abc'` (T-SQL's Unicode literals), `E'...'` and `X'...'` opened no
    literal (the letter is a word character), so their closing quote closed "a value the query opened"."""
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "search N'abc'; DROP TABLE users", "N'; DROP TABLE users; --", "SELECT * FROM t WHERE a = N'x' OR 1=1 --",
    "x'; DROP TABLE users; --", "e' UNION SELECT password FROM users --"])
def test_typed_literals_hide_no_payload(text):
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "SELECT 1 UNION SELECT 2", "select 'paid' as status, 10 union all select 'open', 20",
    "SELECT 'a' AS k, 1 UNION ALL SELECT 'b', 2 UNION ALL SELECT 'c', 3", "(SELECT 5 UNION SELECT 6) ORDER BY 1",
    "SELECT 1; DROP TABLE tmp_orders;", "SELECT now(); DELETE FROM carts WHERE expired = 1;"])
def test_a_select_without_from_is_the_authors_own_statement(text):
    """`SELECT 1 UNION SELECT 2`, an inline table of literals: a statement with no FROM (Postgres, MySQL, SQLite, SQL
    Server take it). The change above read a statement's verb as `select ... from` only, so these, which passed
    before it (a line that began with SELECT was SQL), were blocked."""
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "select the items from order 5 UNION SELECT password FROM users", "Select all the orders 5; DROP TABLE users",
    "select x' UNION SELECT password FROM users --", "SELECT 1 UNION SELECT null, @@version --",
    "order 1 UNION SELECT password FROM users"])
def test_a_select_without_from_hides_no_payload(text):
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("text", [
    "UPDATE jobs SET lang = 'python' WHERE id = 3; DELETE FROM skills WHERE name = 'C#';",
    "UPDATE t SET a = 1 WHERE id = 2; DELETE FROM t WHERE note = '--'",
    "UPDATE t SET a = 1 WHERE id = 2; DELETE FROM t WHERE body LIKE '%/*';",
    "SELECT * FROM t WHERE a = 'x'; DELETE FROM skills WHERE name IN ('C#', 'F#');"])
def test_a_comment_marker_inside_a_literal_swallows_nothing(text):
    """`'C#'`, `'--'`: a literal that ends in a comment's marker is no comment that swallows what is left of the query
    (the change above blocked the first three, which passed before it)."""
    assert "sql_injection" not in found(text)


@pytest.mark.parametrize("text", [
    "SELECT * FROM t WHERE id = 1; DROP TABLE users;--", "SELECT * FROM t WHERE id = 1; DELETE FROM users #",
    "SELECT * FROM t WHERE a = 'x'; DELETE FROM users; /*", "SELECT * FROM t WHERE a = 'x'; DROP TABLE users --'"])
def test_a_comment_after_a_stacked_statement_still_swallows_the_query(text):
    assert "sql_injection" in found(text)


@pytest.mark.parametrize("unit", [
    "SELECT * FROM t WHERE a = 'x'; DELETE FROM t ", "select the x from t where a = 1; DROP TABLE t\n",
    "(1); DELETE FROM t ", "SELECT a FROM t WHERE b = 'c' UNION SELECT "])
@pytest.mark.timeout(60)
def test_a_megabyte_of_stacked_statements_is_scanned(unit):
    """Each candidate reads a bounded window (the statement since its `;`, 200 bytes of its clause); the text's
    quote marks are indexed once, for every shape, and only when a quote needs them. Its speed is bench.guardrails'
    to measure (no clock here); a quadratic reading would take minutes and meet the timeout."""
    text = unit * (1_000_000 // len(unit))
    assert "sql_injection" in found(text)
