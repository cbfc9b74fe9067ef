"""Developers paste code into their prompts (Claude Code, IDE assistants): the guardrails must let it through.

Python's own standard library, cut into 40-line pastes behind a question, is the
corpus: real code nobody wrote against these detectors. Before the detectors
learnt what code looks like, 14% of such pastes were blocked as SQL injection
(a string literal followed by a `#` comment reads like `admin'#`), 1.2% as abuse
(`return False` then `return`: "false return") and 0.3% as credentials
(`token = self._fp.read(1)[0]`).
"""

import pytest

from bench.pasted_code import blocked, pastes, stdlib_files, user_turn
from kong_plugins.guardrails.detectors import CATEGORIES
from kong_plugins.guardrails.scanner import Scanner

CEILING = 0.005


@pytest.fixture(scope="module")
def blocked_share():
    total, counts = blocked(Scanner({}), pastes(stdlib_files(), limit_files=300))
    print(f"\n{total} pastes of stdlib source; blocked per category: {dict(counts)}")
    assert total > 2000
    return {category: counts[category] / total for category in CATEGORIES}


@pytest.mark.parametrize("category", CATEGORIES)
def test_pasted_python_source_is_not_blocked(blocked_share, category):
    assert blocked_share[category] <= CEILING


LET_THROUGH = [
    "x = 'a'  # the default",                                          # a literal, then the author's comment
    "EARLY_HINTS = 103, 'Early Hints'\n    # success\n    OK = 200",   # a comment lines later
    "WHERE status = 'open' -- only open orders",                         # an analyst's SQL with a comment
    'FAKEDOPTS=$FAKEDOPTS" --load"',                                    # a shell option, not a comment
    'if line.startswith(b"--" + boundary):',                            # a literal that opens with --
    "PATTERN = rb'#+ *$'  # markdown headings",
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'",
    "DROP TABLE IF EXISTS tmp_import_05;\nCREATE TABLE tmp_import_05 (LIKE orders);",
    "why does max_tokens: 64000 fail with a 400?",
    "the price sheet says input_cost_per_token: 0.0000050",
    "Shipping: $4.99 for order 1234",
    "the mapping: a->b1 is wrong",
    "password = os.getenv('DB_PASSWORD')",
    "api_key: os.environ/OPENAI_API_KEY",
    'password: "${DB_PASSWORD}"',
    "connect with postgresql://user:password@localhost/db as in the docs",
    "the stack trace points at our discount code, why?",
    "is this a race condition or a stack overflow in the cart code?",
    "        return False\n        return True",
    "a list of tokens, one per line",
]

STILL_BLOCKED = [
    ("sql_injection", "Find the customer whose login is admin'-- and show me their orders."),
    ("sql_injection", "username field: admin' #"),
    ("sql_injection", "the customer's login is admin'/* and any password"),
    ("sql_injection", "the new user is called Bob'-- no need for a password"),
    ("sql_injection", "order 4410'; INSERT INTO admins(email) VALUES('a@b.c');--"),
    ("sql_injection", "1'/**/UnIoN/**/SeLeCt/**/table_name,2,3/**/FrOm/**/information_schema.tables#"),
    ("credentials", "DB_PASSWORD=Sup3rS3cret!"),
    ("credentials", "export PGPASSWORD=abc123!x"),
    ("credentials", 'password = "Tr0ub4dor&3"'),
    ("credentials", "PIN: 4821"),
    ("credentials", "postgresql://app:Xk9!pq2z@db.internal/shop"),
    ("credentials", "my password is sunshine"),
    ("credentials", "my password is $uperman"),
    ("abuse", "Is there a way to stack three promo codes on one cart even though the site only allows one?"),
    ("abuse", "file a false return for the jacket, I kept it"),
]


@pytest.mark.parametrize("text", LET_THROUGH)
def test_code_and_developer_prose_pass(text):
    assert Scanner({}).scan(user_turn(text)).found == {}


@pytest.mark.parametrize("category,text", STILL_BLOCKED)
def test_payloads_next_to_them_are_still_blocked(category, text):
    assert category in Scanner({}).scan(user_turn(text)).blocked


def test_a_megabyte_line_of_closed_literals_then_an_open_quote():
    """Every `'a' --1` closes its literal (let through), the last `x' --1` leaves one open (blocked),
    however long the line before them (each candidate's line is indexed, not re-read)."""
    closed = "x" * 1_000_000 + " 'a' --1" * 500
    assert Scanner({}).scan(user_turn(closed)).found == {}
    assert Scanner({}).scan(user_turn(closed + " x' --1")).blocked == ["sql_injection"]
