"""SQL injection: payload shapes (tautologies, stacked queries, comment terminators), not SQL itself."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

import re2

from kong_plugins.guardrails.patterns import PerTextValidator, Validator, always, compile_pattern

_SQL_TAUTOLOGY = compile_pattern(   # ' OR 1=1, ' or ''=', a' AND 'a'='a, AND 1=2, ' OR 2>1, ' OR 'a'<>'b
    r"""(?:['"`)]\s*|\b)(?:or|and|\|\|)\s+\(?\s*(['"]?)(\w*)['"]?\s*(=|like|<>|!=|>=|<=|>|<)\s*(['"]?)(\w*)""")
_NAME = r"""[\w.`"\[\]]+"""
_SQL_SHAPES = [
    r"""['"`)][ \t]*;[ \t]*(?:drop|delete|truncate|insert|update|alter|create|exec|execute|shutdown|grant|revoke)\s+"""
    r"""(?:table|from|into|database|schema|user|procedure|\w+\s+set)\b""",
    r"""--\s*union\s+(?:all\s+|distinct\s+)?select\b""",
    r"""\bunion\s+(?:all\s+)?select\s+(?:null\b|@@|\d+\s*,\s*\d+|[^;]{0,60}\binformation_schema\b)""",
    r"""\b(?:and|or)\s*\(\s*select\b""",
    r"""\bdrop\s+(?:table|database|schema)\s+(?:if\s+exists\s+)?[\w.`"\[\]]+[ \t]*;?[ \t]*(?:--|/\*)""",
    r"""(?:['"]|\b(?:and|or|select|union|if)\b|;)\s*\(?\s*sleep\s*\(\s*\d+(?:\.\d+)?\s*\)""",
    r"""\bpg_sleep\s*\(|\bwaitfor\s+delay\s+['"]|\bbenchmark\s*\(\s*\d{4,}\s*,""",
    r"""\bxp_cmdshell\b|\bsp_executesql\b""",
    r"""\bload_file\s*\(\s*(?:['"]|0x)|\binto\s+(?:out|dump)file\b|\bextractvalue\s*\(|\bupdatexml\s*\(""",
    r"""['"`)][ \t]*;[ \t]*shutdown\b|\bconvert\s*\(\s*int\s*,\s*(?:@@\w+|\(\s*select\b)""",
]
_SQL = compile_pattern("|".join(_SQL_SHAPES))
_AFTER_QUOTE = compile_pattern(
    r"""(['"`])\s*(?:(?:or|\|\|)\s+(?:true|not\s+false|\d+)\s*(?:--|#|/\*)|\)?\s*order\s+by\s+\d+\s*(?:--|#|/\*)|"""
    r"""(?:or|and)\s+(?:\d+\s+(?:in\s*\(\s*\d+|between\s+\d+\s+and\s+\d+)|\w+\s+is\s+(?:not\s+)?null\s*(?:--|#|/\*))|"""
    r"""\|\|\s*\(\s*select\b)""")
"""`' OR true--`, `' OR 1 --`, `1' ORDER BY 3--` (counting columns), `x' OR name IS NOT NULL --`, `'||(SELECT ...`:
after a quote the line left open (checked below). After a literal the line closed they are an analyst's own
(`WHERE s = 'open' ORDER BY 2 -- newest`, `AND shipped_at IS NULL -- not yet`, `'SKU-' || (SELECT max(id) ...`)."""
_STACKED_AFTER_NUMBER = compile_pattern(
    r"""\b\d+[ \t]*;[ \t]*((?:drop|delete|truncate|insert|update|alter|create|exec|execute|shutdown|grant|revoke)\b)""")
_WHOLE_STATEMENT = re.compile((
    r"""(?:drop\s+(?:table|database|schema|user|procedure)\s+""" + _NAME + r"""\s*(?:;|,|--|#|/\*|cascade\b|$)|"""
    r"""delete\s+from\s+""" + _NAME + r"""\s*(?:;|--|#|/\*|where\b|$)|truncate\s+(?:table\s+)?""" + _NAME
    + r"""\s*(?:;|--|#|$)|insert\s+into\s+""" + _NAME + r"""\s*(?:\(|values\b|select\b)|update\s+""" + _NAME
    + r"""\s+set\s+\w+\s*=|alter\s+(?:table|database|user)\s+""" + _NAME
    + r"""\s+(?:add|drop|modify|rename|set|identified)\b|create\s+(?:table|database|schema|user|login|procedure)\s+"""
    + _NAME + r"""\s*(?:\(|;|--|$|identified\b|with\b|as\b|password\b)|exec(?:ute)?\s+(?:xp_|sp_|master\.)|"""
    r"""shutdown\s*(?:;|--|#|$|with\s+nowait)|(?:grant|revoke)\s+[\w\s,]{1,40}?\s+on\s+""" + _NAME + r""")""").encode(),
    re.I | re.M)
"""`5521; DROP TABLE users`: after a number, a whole statement (checked in Python: in the prefilter's automaton
these alternatives cost as much as all other SQL shapes together). `Ticket 2231; Update from the warehouse`,
`Order 77120; create user account ...`, `PO 4500012345; insert into the catalogue ...` are notes."""
_UNION_AFTER = compile_pattern(r"""(['"`)]|\b\d+)[ \t]*union\s+(?:all\s+|distinct\s+)?select\b""")
"""`x' UNION SELECT`, `1) UNION SELECT`, `id=1 UNION SELECT` on one line; checked below, since an analyst's own
compound query has the same words (`WHERE status = 'open' UNION SELECT ...`, `IN (...) UNION SELECT`)."""
_SQL_COMMENT_AFTER_QUOTE = compile_pattern(   # admin'--  admin')/*  x' #; not a --long-option, not 'x'  # a note
    r"""(\w)(['"`])(?:[ \t]*\)?[ \t]*;?[ \t]*(?:--(?:[^A-Za-z]|$)|/\*)|\)?;?[ \t]?#)""")
_QUOTE_MARKS = re.compile(rb"""(?<!\w)[bBrRfFuU]{1,2}['"]|(?<!\w)['"`]|['"`](?!\w)""")
"""Quote marks (with a string prefix: b'x', r"y"), not apostrophes inside words (customer's)."""
_STRING_PREFIXES = b"bBrRfFuU"
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class _QuoteLeftOpen(PerTextValidator):
    """`admin'--` closes a value the query opened before it: an odd quote on its line. In pasted code
    and SQL (`x = 'a'  # note`, `WHERE s = 'open' -- only open`) the quote closes a literal opened on
    the same line, and the comment is the author's own.

    The text's quote marks and line breaks are indexed once, so each candidate costs a few bisects:
    counting from its line's start for every candidate took 28 s for 500 candidates on a 1 MB line."""

    def bind(self, text: bytes) -> Validator:
        marks: dict[int, list[int]] = {quote: [] for quote in b"'\"`"}
        for mark in _QUOTE_MARKS.finditer(text):
            marks[text[mark.end() - 1]].append(mark.end() - 1)        # where each mark's quote sits
        newlines = [newline.start() for newline in re.finditer(rb"\n", text)]

        def left_open(text: bytes, m: "re2._Match") -> bool:
            quote_at = m.start(2)
            before = bisect_left(newlines, m.start())
            line_start = newlines[before - 1] + 1 if before else 0
            window = text[max(line_start, quote_at - 3):quote_at]
            prefix = len(window) - len(window.rstrip(_STRING_PREFIXES))
            if prefix in (1, 2) and (quote_at - prefix == line_start or text[quote_at - prefix - 1] not in _WORD):
                return False                           # b"--", rb'#': the quote opens a prefixed literal
            positions = marks[text[quote_at]]
            return (bisect_right(positions, quote_at) - bisect_left(positions, line_start)) % 2 == 1

        return left_open


_LITERAL = re.compile(rb"\d+|0x[0-9a-f]+", re.I)
_QUERY_GOES_ON = re.compile(rb"""\s*(?:$|\n|--|#|/\*|;|\)|['"`,])|\s+(?:and|or|union|order|limit|group|having|"""
                            rb"""select|from|where|into|procedure|waitfor)\b""", re.I)
"""What follows a probe in a query (`OR 1=1 --`, `AND 1=2 UNION ...`), where prose goes on with words
(`pack sizes 6 and 12 = 18 bottles`)."""


def _sql_valid(text: bytes, m: "re2._Match") -> bool:
    left, operator, right = m.group(2), m.group(3).lower(), m.group(5)
    if operator not in (b"=", b"like"):   # ' OR 2>1, ' OR 'a'<>'b: only after a value closed, operands given
        if text[m.start():m.start() + 1] not in (b"'", b'"', b"`", b")") or not (left and right):
            return False                  # `# -2 > -3, and 3 > 2`, `"<" and ">"`: code and its comments
    if m.group(1) or m.group(4):                                 # ' OR 'a'='a, ' or ''=', ' OR 'a'<>'b
        both = bool(m.group(1)) and bool(m.group(4))
        return both or operator in (b"=", b"like") and left.lower() == right.lower()
    if not (_LITERAL.fullmatch(left) and _LITERAL.fullmatch(right)):
        return False                                             # "x = y": names, not literals
    if operator == b"=" and left.lower() == right.lower() and text[m.start():m.end()].lower().lstrip(
            b"'\"`) \t\r\n").startswith(b"or"):
        return True                                              # OR 1=1: always true, wherever it is written
    return bool(_QUERY_GOES_ON.match(text, m.end()))             # AND 1=2, OR 2>1: a probe, if the query goes on


def _union_after_value(text: bytes, m: "re2._Match") -> bool:
    """The value before UNION closes what the query opened: a quote closing no literal of its line, a bracket
    its line never opened, a number in a line that is not itself SQL."""
    at = m.start(1)
    mark, line_start = text[at:at + 1], _line_start(text, at)
    if mark in b"'\"`":
        return _closes_no_literal_of_its_line(text, at)
    if mark == b")" and text.count(b")", line_start, at + 1) > text.count(b"(", line_start, at + 1):
        return True                                       # `1) UNION SELECT`: closes a bracket the query opened
    return not _is_sql_line(text, line_start, at)


def _line_start(text: bytes, at: int) -> int:
    return text.rfind(b"\n", 0, at) + 1


_STATEMENT = re.compile(rb"\b(?:select\b.*\bfrom|update\b.*\bset|delete\s+from|insert\s+into|"
                        rb"where\s+[\w.`\"\[\]]+\s*(?:[=<>!]|like\b|in\b|is\b|between\b))", re.I)
_CLAUSE = re.compile(rb"\s*(?:(?:and|or|having|where|on)\s+[\w.()*`\"\[\]]+\s*(?:[=<>!]|like\b|in\b|is\b|between\b)|"
                     rb"(?:from|join)\s+[\w.`\"\[\]]+\s*$|group\s+by\b|order\s+by\b|select\s)", re.I)


_LINE_LOOKBACK = 400
"""How far back a line is read for SQL: `select ... from` over a whole 1 MB line, once per candidate, took
minutes of a scanner thread (Python's re, unlike RE2, is not linear)."""


def _is_sql_line(text: bytes, line_start: int, end: int) -> bool:
    """The line up to `end` is itself SQL: a statement (`UPDATE orders SET ... WHERE id = 5521; DELETE ...`,
    `SELECT ... FROM ...`, `WHERE total > 100`) or a formatted query's clause line (`  AND total > 100`,
    `HAVING COUNT(*) > 5`): the author's own script, not a value someone typed into a field."""
    line_start = max(line_start, end - _LINE_LOOKBACK)
    return bool(_STATEMENT.search(text, line_start, end) or _CLAUSE.match(text, line_start, end))


def _stacked_after_number(text: bytes, m: "re2._Match") -> bool:
    """A whole statement after a number, in a line that is not itself a statement."""
    return (bool(_WHOLE_STATEMENT.match(text, m.start(1)))
            and not _is_sql_line(text, _line_start(text, m.start()), m.start()))


def _closes_no_literal_of_its_line(text: bytes, quote_at: int) -> bool:
    """The quote at `quote_at` closes no literal its line opened: it closes a value the query opened (a payload).

    Read left to right: a quote opens a literal after a non-word character, closes the open one, and after a
    word character with none open is an apostrophe (`the users' search box took: ' OR true--`), which a count of
    quote marks took for a closed pair. Within the last _LINE_LOOKBACK bytes: a literal is rarely longer."""
    start = max(_line_start(text, quote_at), quote_at - _LINE_LOOKBACK)
    open_literal: int | None = None
    for at in range(start, quote_at):
        mark = text[at]
        if mark not in _QUOTES:
            continue
        if open_literal is not None:
            if mark == open_literal:
                open_literal = None
        elif at == start or text[at - 1] not in _WORD:
            open_literal = mark
    return open_literal != text[quote_at]


_QUOTES = frozenset(b"'\"`")


def _after_open_quote(text: bytes, m: "re2._Match") -> bool:
    """A shape that follows a quote: a payload when the quote closes a value the query opened."""
    return _closes_no_literal_of_its_line(text, m.start(1))


DETECTORS: tuple[tuple["re2._Regexp", Validator | PerTextValidator], ...] = (
    (_SQL_TAUTOLOGY, _sql_valid), (_SQL, always), (_STACKED_AFTER_NUMBER, _stacked_after_number),
    (_UNION_AFTER, _union_after_value), (_AFTER_QUOTE, _after_open_quote),
    (_SQL_COMMENT_AFTER_QUOTE, _QuoteLeftOpen()))
