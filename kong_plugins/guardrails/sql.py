"""SQL injection: payload shapes (tautologies, stacked queries, comment terminators), not SQL itself."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Any, Callable

import re2

from kong_plugins.guardrails.patterns import PerTextValidator, Validator, always, compile_pattern

_SQL_TAUTOLOGY = compile_pattern(   # ' OR 1=1, ' or ''=', a' AND 'a'='a, AND 1=2, ' OR 2>1, ' OR 'a'<>'b, id=1 || 2>1
    r"""(?:(?:['"`)]\s*|\b)(?:or|and|\|\|)|[ \t]\|\|)\s+\(?\s*(['"]?)(\w*)['"]?\s*(=|like|<>|!=|>=|<=|>|<)\s*(['"]?)"""
    r"""(\w*)""")
_NAME = r"""[\w.`"\[\]]+"""
_SQL_SHAPES = [
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
_STACKED_AFTER_CLOSE = compile_pattern(   # '; DELETE FROM, 1); DROP TABLE (checked below)
    r"""(['"`)])[ \t]*;[ \t]*(?:drop|delete|truncate|insert|update|alter|create|exec|execute|shutdown|grant|"""
    r"""revoke)\s+(?:table|from|into|database|schema|user|procedure|\w+\s+set)\b""")
_STACKED_AFTER_VALUE = compile_pattern(   # 5521; DROP TABLE users, name=bob; DELETE FROM users (checked below)
    r"""(?:\b(\d+)|=[ \t]*(\w+))[ \t]*;[ \t]*((?:drop|delete|truncate|insert|update|alter|create|exec|execute|"""
    r"""shutdown|grant|revoke)\b)""")
_WHOLE_STATEMENT = re.compile((
    r"""(?:drop\s+(?:table|database|schema|user|procedure)\s+""" + _NAME + r"""\s*(?:;|,|--|#|/\*|cascade\b|$)|"""
    r"""delete\s+from\s+""" + _NAME + r"""\s*(?:;|--|#|/\*|where\b|$)|truncate\s+(?:table\s+)?""" + _NAME
    + r"""\s*(?:;|--|#|$)|insert\s+into\s+""" + _NAME + r"""\s*(?:\(|values\b|select\b)|update\s+""" + _NAME
    + r"""\s+set\s+\w+\s*=|alter\s+(?:table|database|user)\s+""" + _NAME
    + r"""\s+(?:add|drop|modify|rename|set|identified)\b|create\s+(?:table|database|schema|user|login|procedure)\s+"""
    + _NAME + r"""\s*(?:\(|;|--|$|identified\b|with\b|as\b|password\b)|exec(?:ute)?\s+(?:xp_|sp_|master\.)|"""
    r"""shutdown\s*(?:;|--|#|$|with\s+nowait)|(?:grant|revoke)\s+[\w\s,]{1,40}?\s+on\s+""" + _NAME + r""")""").encode(),
    re.I | re.M)
"""`5521; DROP TABLE users`: after a value, a whole statement (checked in Python: in the prefilter's automaton
these alternatives cost as much as all other SQL shapes together). `Ticket 2231; Update from the warehouse`,
`Order 77120; create user account ...`, `PO 4500012345; insert into the catalogue ...` are notes."""
_UNION_AFTER = compile_pattern(r"""(['"`)]|\b\d+)[ \t]*union\s+(?:all\s+|distinct\s+)?select\b""")
"""`x' UNION SELECT`, `1) UNION SELECT`, `id=1 UNION SELECT` on one line; checked below, since an analyst's own
compound query has the same words (`WHERE status = 'open' UNION SELECT ...`, `IN (...) UNION SELECT`)."""
_SQL_COMMENT_AFTER_QUOTE = compile_pattern(   # admin'--  admin')/*  x' #; not a --long-option, not 'x'  # a note
    r"""\w(['"`])(?:[ \t]*\)?[ \t]*;?[ \t]*(?:--(?:[^A-Za-z]|$)|/\*)|\)?;?[ \t]?#)""")
_CONSTANT_TEST = compile_pattern(   # id=1 OR 1 BETWEEN 0 AND 2, 1 or 1 in (1, 2)
    r"""(?:\b(?:or|and)|\|\|)\s+(-?\d+)\s+(not\s+)?(?:between\s+(-?\d+)\s+and\s+(-?\d+)\b|"""
    r"""in\s*\(\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\))""")
"""A range or list test on literals (checked below: one that holds, after a value). After a quote the line left
open, `' OR 1 BETWEEN 0 AND 2 --` is _AFTER_QUOTE's."""
_SQL_WORD = (rb"""(?:and|or|xor|not|union|order|group|having|limit|offset|select|from|where|into|like|rlike|regexp|"""
             rb"""is|in|between|procedure|waitfor)\b""")
_QUOTE_MARKS = re.compile(rb"""(?<!\w)(?:[bfru]{1,2}|[nex])['"]|(?<!\w)['"`]|['"`](?!\w)(?![ \t]+(?!""" + _SQL_WORD
                          + rb""")[a-z])""", re.I)
"""Quote marks: a quote that opens a literal (after a non-word character, a string prefix: b'x', r"y", or the letter
of SQL's typed literals: N'abc', E'\\n', X'0A') or may close one (before a non-word character). Not apostrophes:
inside words (customer's), nor a possessive (`the users' search box`: a word follows that is no SQL, where a
payload's value goes on with it: `x@y.com' AND ...`)."""
_STRING_PREFIX = re.compile(rb"""(?:^|(?<=\W))[bfru]{1,2}$""", re.I)


def _line_start(text: bytes, at: int) -> int:
    return text.rfind(b"\n", 0, at) + 1


class _Quotes:
    """Whether a quote closes a literal its line opened: the one model of quote state here, for every shape that
    follows a quote (`admin'--`, `' OR true--`, `x' UNION SELECT`). A query's value that the line closes (a
    payload) leaves an odd count of the quote's marks on its line; literals the line opens and closes
    (`WHERE s = 'open' -- note`, `x = 'a'  # the default`) leave an even one. It replaces two: a count of quote
    marks for `admin'--` took a possessive for one of a pair (`the users' login took admin'--`), and a left-to-right
    reading of literals for the other shapes took a payload's own quote after a word for an apostrophe (`x@y.com'
    AND ...='a'--`) and a docstring's triple quote for a literal around the code it quotes.

    The text's quote marks and line breaks are indexed once, so each candidate costs a few bisects: counting from
    its line's start for every candidate took 28 s for 500 candidates on a 1 MB line."""

    @classmethod
    def of(cls, text: bytes, shared: dict[str, Any]) -> "_Quotes":
        """The index of `text`, shared by every shape that reads it during its scan and built when one first does
        (0.2 s for a megabyte)."""
        quotes = shared.get("sql_quotes")
        if quotes is None:
            quotes = shared["sql_quotes"] = cls(text)
        return quotes

    def __init__(self, text: bytes) -> None:
        self.text = text
        self._index: tuple[dict[int, list[int]], list[int]] | None = None

    @property
    def marks(self) -> dict[int, list[int]]:
        return self._indexed()[0]

    @property
    def newlines(self) -> list[int]:
        return self._indexed()[1]

    def _indexed(self) -> tuple[dict[int, list[int]], list[int]]:
        if self._index is None:
            marks: dict[int, list[int]] = {quote: [] for quote in b"'\"`"}
            for mark in _QUOTE_MARKS.finditer(self.text):
                marks[self.text[mark.end() - 1]].append(mark.end() - 1)      # where each mark's quote sits
            self._index = (marks, [newline.start() for newline in re.finditer(rb"\n", self.text)])
        return self._index

    def close_a_value(self, quote_at: int) -> bool:
        """The quote at `quote_at` closes no literal of its line: it closes a value the query opened."""
        text, line_start = self.text, self.line_start(quote_at)
        if _STRING_PREFIX.search(text, max(line_start, quote_at - 3), quote_at) and self._closed_later(quote_at):
            return False                               # b"--" + boundary, rb'#+ *$'  # note: a prefixed literal
        positions = self.marks[text[quote_at]]
        return (bisect_left(positions, quote_at) - bisect_left(positions, line_start)) % 2 == 0

    def line_start(self, at: int) -> int:
        before = bisect_left(self.newlines, at)
        return self.newlines[before - 1] + 1 if before else 0

    def opening(self, quote_at: int) -> int:
        """Where the literal the quote at `quote_at` closes opens (itself, when its line holds no earlier mark); a
        doubled quote is one inside it (`'O''Brien'`)."""
        positions, line_start = self.marks[self.text[quote_at]], self.line_start(quote_at)
        before = bisect_left(positions, quote_at) - 1
        if before < 0 or positions[before] < line_start:
            return quote_at
        while before >= 2 and positions[before - 1] == positions[before] - 1 and positions[before - 2] >= line_start:
            before -= 2
        return positions[before]

    def _closed_later(self, quote_at: int) -> bool:
        """A mark of the same quote follows on the line (a payload's value may be one of the prefix letters:
        `u' OR true--`)."""
        positions, newline = self.marks[self.text[quote_at]], bisect_right(self.newlines, quote_at)
        after = bisect_right(positions, quote_at)
        return after < len(positions) and (newline == len(self.newlines) or positions[after] < self.newlines[newline])


class _AfterOpenQuote(PerTextValidator):
    """A shape that follows a quote (group 1): a payload when the quote closes a value the query opened."""

    def bind(self, text: bytes, shared: dict[str, Any]) -> Validator:
        quotes = _Quotes.of(text, shared)
        return lambda text, m: quotes.close_a_value(m.start(1))


_LITERAL = re.compile(rb"\d+|0x[0-9a-f]+", re.I)
_SQL_GOES_ON = (rb"""\s*(?:--|#|/\*|;|\)|['"`])|\s+(?:and|or|union|order|limit|group|having|select|from|where|into|"""
                rb"""procedure|waitfor)\b""")
_QUERY_GOES_ON = re.compile(rb"\s*(?:$|\n|,)|" + _SQL_GOES_ON, re.I)
"""What follows a probe in a query (`OR 1=1 --`, `AND 1=2 UNION ...`), where prose goes on with words
(`pack sizes 6 and 12 = 18 bottles`)."""
_QUERY_VISIBLY_GOES_ON = re.compile(_SQL_GOES_ON, re.I)


def _sql_valid(text: bytes, m: "re2._Match") -> bool:
    left, operator, right = m.group(2), m.group(3).lower(), m.group(5)
    comparison = operator not in (b"=", b"like")          # ' OR 2>1, ' OR 'b'>'a', id=1 OR 2>1: operands given
    if comparison and not (left and right):
        return False                                      # `"<" and ">"`: code and its comments
    after_closed_value = text[m.start():m.start() + 1] in (b"'", b'"', b"`", b")")
    if m.group(1) or m.group(4):                                 # ' OR 'a'='a, ' or ''=', OR 'b'>'a'
        both = bool(m.group(1)) and bool(m.group(4))
        return both or not comparison and left.lower() == right.lower()
    if not (_LITERAL.fullmatch(left) and _LITERAL.fullmatch(right)):
        return False                                             # "x = y": names, not literals
    if comparison and not after_closed_value:
        return _appended_to_a_value(text, m.start(), m.end())   # id=1 OR 2>1; not `# -2 > -3, and 3 > 2`
    if operator == b"=" and left.lower() == right.lower() and text[m.start():m.end()].lower().lstrip(
            b"'\"`) \t\r\n").startswith(b"or"):
        return True                                              # OR 1=1: always true, wherever it is written
    return bool(_QUERY_GOES_ON.match(text, m.end()))             # AND 1=2, ' OR 2>1: a probe, if the query goes on


_GIVEN_VALUE = re.compile(rb"""(?:^[ \t]*-?\d+(?:\.\d+)?|^|[=(:]|[=(][ \t]*-?[\w.@]+)[ \t]*$""", re.M)
_BARE_NUMBER = re.compile(rb"""(?:^|[^\w.])-?(?:\d+(?:\.\d+)?|0x[0-9a-f]+)[ \t]*$""", re.I | re.M)
_VALUE_LOOKBACK = 80


def _appended_to_a_value(text: bytes, start: int, end: int) -> bool:
    """The test on literals from `start` (its OR/AND) to `end` is appended to a value where the query goes on: to a
    value given with `=` or opening its line, or to nothing yet (`id=1 OR 2>1`, `(id=1 OR 2>1)`, `1 OR 1<2`, `= OR
    2>1`), or to a number in a sentence where SQL visibly follows (`order 1234 OR 2>1 --`): prose ends with numbers
    too (`try 10 or 20 > 15`). After a list or words it is prose or a code comment (`# -2 > -3, and 3 > 2`)."""
    lookback = max(_line_start(text, start), start - _VALUE_LOOKBACK)
    if _GIVEN_VALUE.search(text, lookback, start):
        return bool(_QUERY_GOES_ON.match(text, end))
    return bool(_BARE_NUMBER.search(text, lookback, start) and _QUERY_VISIBLY_GOES_ON.match(text, end))


def _constant_test(text: bytes, m: "re2._Match") -> bool:
    """`id=1 OR 1 BETWEEN 0 AND 2`, `1 or 1 in (1, 2)`: a range or list test on literals that holds, appended to a
    value. Prose tests ranges too (`deliver 3 or 4 between 9 and 17`), rarely ones that hold, then a query's end."""
    if m.end() - m.start() > 400:
        return False                                     # int() of 5,000 digits raises: no query's literals
    value = int(m.group(1))
    if m.group(3) is not None:
        holds = int(m.group(3)) <= value <= int(m.group(4))
    else:
        holds = value in {int(item) for item in m.group(5).split(b",")}
    return holds != bool(m.group(2)) and _appended_to_a_value(text, m.start(), m.end())


_STATEMENT_LOOKBACK = 2000
"""How far back a value's statement is read: across lines, since the previous `;`."""
_OWN_STATEMENT = compile_pattern(
    r"""(?s)\b(?:select\b.*\bfrom|update\b.*\bset|delete\s+from|(?:insert|merge|replace)\s+into|"""
    r"""(?:alter|create|drop)\s+(?:or\s+replace\s+|(?:global\s+|local\s+)?temp(?:orary)?\s+|unique\s+|"""
    r"""materialized\s+|unlogged\s+)?(?:table|view|index|sequence|schema|database|function|procedure|trigger|type|"""
    r"""extension|user|role|login|operator|aggregate|domain|cast|collation|policy|rule)\b|comment\s+on\b|"""
    r"""truncate\s+(?:table\s+)?\w|with\s+\w+\s+as\s*\(|(?:grant|revoke)\b.*\bon\b)""")
"""A statement's verb (RE2: it reads up to _STATEMENT_LOOKBACK bytes, across lines, once per candidate)."""
_PROSE_OBJECT = re.compile(rb"\w+(?:\s+(?:from|into))?\s+(?:all\s+(?:of\s+)?)?(?:the|my|our|your|their|his|her|its|"
                           rb"this|these|those|every|each|some)\s", re.I)
"""A verb whose object is a noun phrase is a sentence's (`select the items from order ...`, `update the cart set
...`, `delete from the list ...`); a statement's is a name, a list or `*`."""
_VERBS_TRIED = 4
"""Sentences' verbs skipped before a statement's is given up (each try reads up to _STATEMENT_LOOKBACK bytes)."""
_SELECT_ALONE = re.compile(rb"[\s(]*(select)\s", re.I)
"""A statement that begins with SELECT, FROM or none (`SELECT 1 UNION SELECT 2`, `SELECT 'paid', 10 UNION ...`)."""
_SET_STATEMENT = re.compile(rb"(?:^|[:?!.;])\s*set\s+(?:local\s+|session\s+|global\s+)?[@\w.]+\s*(?:=|to\b)\s*$",
                            re.I | re.M)
"""`SET lock_timeout = 0;` opening a statement (`Please set qty=5; DROP ...` is a sentence's)."""
_ASSIGNMENT = re.compile(rb"\s*(?:(?:begin|then|else|loop|declare)\s+)?[\w.]+(?:[ \t]+[\w.\[\](),]+){0,3}[ \t]*:=",
                         re.I)
"""PL/pgSQL's (PL/SQL's) `x := 5;`, `total numeric := 0;` opening a statement in a function body."""
_CLAUSE_LINE = re.compile(rb"\s*(?:from|join|inner|left|right|full|cross|where|and|or|on|having|set|values|group|"
                          rb"order|limit|returning)\b", re.I)
_LAST_STATEMENT_END = re.compile(rb"(?s).*;\s")
"""Up to the last `;` that ends a statement (`note = 'a;b'` is a literal's), found from the end in one C loop."""
_AFTER_EQUALS = re.compile(rb"(?<![:<>!=])=[ \t]*$")

_CLAUSE_WORD = (r"""\b(?:select|where|and|or|not|on|having|when|then|else|case|set|by|limit|offset|top|default|"""
                r"""values|in|between|like|ilike|is|to|with|as|interval|date|time|timestamp|return|returning|"""
                r"""distinct|all|any|exists|using|begin|loop|declare|zone|escape)\b""")
_OPERAND = (r"""(?:[\w.:@$`"\[\]]+(?:[ \t]*\((?:[^()]|\([^()]*\))*\))?|'[^']*'|\((?:[^()]|\([^()]*\))*\))""")
_OPERATOR = r"""(?:[-+*/%|&^~<>=!:]{1,3}|\b(?:not[ \t]+)?(?:like|ilike|in|is|between)\b)"""
_IN_A_CLAUSE = compile_pattern(r"(?:(?:^|[(,;]|" + _CLAUSE_WORD + r")|(?:^|[(,;]|[-+*/%|&^~<>=!]|" + _CLAUSE_WORD
                               + r")[ \t]*" + _OPERAND + r"[ \t]*" + _OPERATOR + r")[ \t]*(?:-[ \t]*)?$")
"""Where a statement puts a value: after a clause's word, a bracket or a comma (`LIMIT 10`, `IN (`, `VALUES (`),
or compared with a column that follows one (`WHERE id = 5`, `AND lower(name) = 'x'`, `HAVING COUNT(*) > 5`), or
on a formatted query's line of its own. `from order id=1`, `order 5521`: a sentence's words before it. RE2, on the
value's line up to _CLAUSE_LOOKBACK bytes before it (a slice: RE2's `$` is the text's end, not `endpos`)."""
_CLAUSE_LOOKBACK = 200


def _in_a_clause(text: bytes, value_start: int) -> bool:
    line_start = _line_start(text, value_start)
    lookback = max(line_start, value_start - _CLAUSE_LOOKBACK)
    head = b"" if lookback == line_start else b"\0"            # mid-line: no line start in reach for `^`
    return _IN_A_CLAUSE.search(head + text[lookback:value_start]) is not None


def _statement_in(text: bytes, start: int, end: int) -> bool:
    """A statement's verb between `start` and `end` that is no sentence's (`select the items from ...`)."""
    for _ in range(_VERBS_TRIED):
        verb = _OWN_STATEMENT.search(text, start, end)
        if verb is None:
            return False
        if not _PROSE_OBJECT.match(text, verb.start(), end):
            return True
        start = verb.start() + 1
    return False


def _in_own_statement(text: bytes, at: int, value: Callable[[], int | None] | None = None) -> bool:
    """The value ending at `at` is in a clause of a statement its author began, which the `;` or UNION after it goes
    on with: a statement's verb since the previous `;` (`UPDATE orders SET ... WHERE id = 5521; DELETE ...`, `SELECT
    * FROM t LIMIT 10; DROP ...`, `ALTER TABLE t ALTER c SET DEFAULT 0; DROP ...`, `SET search_path = public; DROP
    ...`, `x := 5; DELETE ...` in a function, `SELECT id FROM a WHERE s = 'open' UNION SELECT ...`), on the value's
    line or, when that line is a formatted query's clause line (`   AND qty = 0; DELETE ...`), above it. The one
    model of "the author's own SQL", for stacked statements and UNION alike. A WHERE clause with no statement
    (`explain where id=1; DELETE FROM users`, `where sku = 'ABC' UNION SELECT ...`) is what a value typed into a
    field looks like; a sentence's verb (`select the items from order id=1; DELETE ...`) begins no statement.

    `value()` says where the value begins (None: it closes what the query opened, `x'`), asked once a statement is
    found (indexing a megabyte's quotes takes 0.2 s); a bracket's group (no `value`) is not looked into."""
    line_start, start = _line_start(text, at), max(0, at - _STATEMENT_LOOKBACK)
    last_end = _LAST_STATEMENT_END.match(text, start, at)
    start = last_end.end() - 1 if last_end else start
    here = max(start, line_start)
    assignment = bool(_ASSIGNMENT.match(text, here, at))
    alone = _SELECT_ALONE.match(text, here, at)
    if not (assignment or _statement_in(text, here, at) or _SET_STATEMENT.search(text, max(here - 1, 0), at)
            or alone and not _PROSE_OBJECT.match(text, alone.start(1), at)
            or here > start and _CLAUSE_LINE.match(text, here, at) and _statement_in(text, start, at)):
        return False
    value_start = value() if value else None
    return value is None or value_start is not None and (assignment or _in_a_clause(text, value_start))


def _number_start(text: bytes, at: int) -> int:
    """Where the number at `at` begins (`2.5`: the pattern's word boundary falls before the 5; `$1`: a parameter)."""
    lowest = max(0, at - 40)
    while at > lowest and text[at - 1:at] in b"0123456789.":
        at -= 1
    return at - 1 if text[at - 1:at] == b"$" else at


def _literal_start(text: bytes, at: int, quotes: _Quotes) -> int | None:
    """Where the literal that the quote at `at` closes begins, or None: the quote closes a value the query opened."""
    if quotes.close_a_value(at):
        return None
    start = quotes.opening(at)
    if text[start - 1:start].isalpha() and not text[start - 2:start - 1].isalnum():
        start -= 1                                         # N'abc', E'\n': a typed literal
    return start


def _ends_own_value(text: bytes, at: int, quotes: _Quotes) -> bool:
    """The quote or bracket at `at` closes a literal or a bracket its line opened (not a value the query opened: `x'
    UNION`, `1); DROP`), in a statement its author began."""
    if text[at:at + 1] == b")":
        lowest = max(_line_start(text, at), at - _STATEMENT_LOOKBACK)
        return (text.count(b")", lowest, at + 1) <= text.count(b"(", lowest, at + 1)
                and _in_own_statement(text, at))
    return _in_own_statement(text, at, lambda: _literal_start(text, at, quotes))


_PAYLOAD_TAIL = re.compile(rb"""[^\n]{0,400}?(?<=[;\s])(?:--|#|/\*)[ \t'"`);]*(?:\n|\Z)""")
"""`...; DROP TABLE Students;--');`, `...; DROP TABLE users; --`: a comment that ends the line with nothing to say,
swallowing what is left of the query the payload went into (a script's comments say something). It follows a `;` or
a space: `'C#'`, `'--'` end a literal."""


class _StackedAfterClose(PerTextValidator):
    """`'; DELETE FROM`, `1); DROP TABLE`: a statement stacked after a quote or a bracket, unless that ends a literal or
    a bracket in a statement its author began (`SELECT ... WHERE ref = 'A1'; DELETE FROM carts ...`, `INSERT INTO t
    VALUES (1); DELETE FROM t ...`) and no comment swallows what is left of the query."""

    def bind(self, text: bytes, shared: dict[str, Any]) -> Validator:
        quotes = _Quotes.of(text, shared)
        return lambda text, m: not _ends_own_value(text, m.start(1), quotes) or bool(_PAYLOAD_TAIL.match(text, m.end()))


class _UnionAfterValue(PerTextValidator):
    """The value before UNION closes what the query opened (a quote closing no literal of its line, a bracket its
    line never opened), or ends no statement of its author's."""

    def bind(self, text: bytes, shared: dict[str, Any]) -> Validator:
        quotes = _Quotes.of(text, shared)

        def union_after_value(text: bytes, m: "re2._Match") -> bool:
            at = m.start(1)
            if text[at:at + 1] in b"'\"`)":
                return not _ends_own_value(text, at, quotes)
            return not _in_own_statement(text, at, lambda: _number_start(text, at))   # id=1 UNION SELECT

        return union_after_value


def _stacked_after_value(text: bytes, m: "re2._Match") -> bool:
    """A whole statement after a value (`5521; DROP TABLE users`, `name=bob; DELETE FROM users`: a number, or a word
    given after `=`) that ends no statement of the author's. Other words before `;` are prose or a script's own
    (`Thanks; ...`, `BEGIN; DELETE FROM carts WHERE ...`)."""
    value = 1 if m.group(1) else 2
    at = m.start(value)
    if not (m.group(value).isdigit() or _AFTER_EQUALS.search(text, max(0, at - 8), at)):
        return False                                        # `x == y; ...`, `x := y; ...`: code
    if not _WHOLE_STATEMENT.match(text, m.start(3)):
        return False
    own = _in_own_statement(text, at, lambda: _number_start(text, at))
    return not own or bool(_PAYLOAD_TAIL.match(text, m.end()))


DETECTORS: tuple[tuple["re2._Regexp", Validator | PerTextValidator], ...] = (
    (_SQL_TAUTOLOGY, _sql_valid), (_SQL, always), (_STACKED_AFTER_CLOSE, _StackedAfterClose()),
    (_STACKED_AFTER_VALUE, _stacked_after_value), (_UNION_AFTER, _UnionAfterValue()), (_AFTER_QUOTE, _AfterOpenQuote()),
    (_SQL_COMMENT_AFTER_QUOTE, _AfterOpenQuote()), (_CONSTANT_TEST, _constant_test))
