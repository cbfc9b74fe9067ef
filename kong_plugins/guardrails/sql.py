"""SQL injection: payload shapes (tautologies, stacked queries, comment terminators), not SQL itself."""

from __future__ import annotations

import re

import re2

from kong_plugins.guardrails.patterns import Validator, always, compile_pattern

_SQL_TAUTOLOGY = compile_pattern(   # ' OR 1=1, ' or ''=', a' AND 'a'='a, AND 1=2  (operands checked below)
    r"""(?:['"`)]\s*|\b)(?:or|and|\|\|)\s+\(?\s*(['"]?)(\w*)['"]?\s*(?:=|like)\s*(['"]?)(\w*)""")
_SQL_SHAPES = [
    r"""(?:['"`)]|\b\d+)[ \t]*;[ \t]*(?:drop|delete|truncate|insert|update|alter|create|exec|execute|shutdown|"""
    r"""grant|revoke)\s+"""
    r"""(?:table|from|into|database|schema|user|procedure|\w+\s+set)\b""",
    r"""(?:['"`)\d]\s*|--\s*)union\s+(?:all\s+|distinct\s+)?select\b""",
    r"""\bunion\s+(?:all\s+)?select\s+(?:null\b|@@|\d+\s*,\s*\d+|[^;]{0,60}\binformation_schema\b)""",
    r"""\b(?:and|or)\s+\(\s*select\b""",
    r"""\bdrop\s+(?:table|database|schema)\s+(?:if\s+exists\s+)?[\w.`"\[\]]+[ \t]*;?[ \t]*(?:--|/\*)""",
    r"""(?:['"]|\b(?:and|or|select|union|if)\b|;)\s*\(?\s*sleep\s*\(\s*\d+(?:\.\d+)?\s*\)""",
    r"""\bpg_sleep\s*\(|\bwaitfor\s+delay\s+['"]|\bbenchmark\s*\(\s*\d{4,}\s*,""",
    r"""\bxp_cmdshell\b|\bsp_executesql\b""",
    r"""\bload_file\s*\(\s*(?:['"]|0x)|\binto\s+(?:out|dump)file\b|\bextractvalue\s*\(|\bupdatexml\s*\(""",
]
_SQL = compile_pattern("|".join(_SQL_SHAPES))
_SQL_COMMENT_AFTER_QUOTE = compile_pattern(   # admin'--  admin')/*  x' #; not a --long-option, not 'x'  # a note
    r"""(\w)(['"`])(?:[ \t]*\)?[ \t]*;?[ \t]*(?:--(?:[^A-Za-z]|$)|/\*)|\)?;?[ \t]?#)""")
_QUOTE_MARKS = re.compile(rb"""(?<!\w)[bBrRfFuU]{1,2}['"]|(?<!\w)['"`]|['"`](?!\w)""")
"""Quote marks (with a string prefix: b'x', r"y"), not apostrophes inside words (customer's)."""
_STRING_PREFIX_END = re.compile(rb"(?:^|[^\w])[bBrRfFuU]{1,2}$")


def _quote_left_open(text: bytes, m: "re2._Match") -> bool:
    """`admin'--` closes a value the query opened before it: an odd quote on its line. In pasted code
    and SQL (`x = 'a'  # note`, `WHERE s = 'open' -- only open`) the quote closes a literal opened on
    the same line, and the comment is the author's own."""
    quote = m.group(2)
    line = text[text.rfind(b"\n", 0, m.start()) + 1:m.end(2)]
    if _STRING_PREFIX_END.search(line, 0, len(line) - 1):
        return False                               # b"--", rb'#': the quote opens a prefixed literal
    return sum(1 for mark in _QUOTE_MARKS.findall(line) if mark.endswith(quote)) % 2 == 1


def _sql_valid(text: bytes, m: "re2._Match") -> bool:
    left, right = m.group(2), m.group(4)
    quoted = bool(m.group(1)) or bool(m.group(3))
    if quoted:                                                   # ' OR 'a'='a, ' or ''='
        return left.lower() == right.lower() or (bool(m.group(1)) and bool(m.group(3)))
    return left.isdigit() and right.isdigit()                    # OR 1=1, AND 1=2 (a boolean probe), not "x = y"


DETECTORS: tuple[tuple["re2._Regexp", Validator], ...] = (
    (_SQL_TAUTOLOGY, _sql_valid), (_SQL, always), (_SQL_COMMENT_AFTER_QUOTE, _quote_left_open))
