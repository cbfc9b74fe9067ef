"""Where the project compares secrets itself (the emulator's SigV4 and bearer checks), it does so
in constant time: no `==` / `!=` / `in` on a value named like a secret anywhere in kong_plugins.
(API keys are Kong's key-auth's business; the relay matches a 128-bit one-time context id by
dict lookup, a hash, not a byte-by-byte compare.)"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "kong_plugins"
SECRET_NAME = re.compile(r"(secret|signature|password|passwd|api_key|apikey|access_key|session_token|"
                         r"bearer_token|bearer|credential)s?$", re.IGNORECASE)


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    return ""


def plain_secret_comparisons(source: str, filename: str = "<src>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        if any(isinstance(side, ast.Constant) and side.value is None for side in sides):
            continue
        names = [_name(side) for side in sides]
        if any(SECRET_NAME.search(name) for name in names if name):
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_secret_is_compared_with_plain_equality():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        found += plain_secret_comparisons(path.read_text(), str(path.relative_to(ROOT.parent)))
    assert not found, found


def test_the_emulator_compares_signatures_and_keys_in_constant_time():
    source = (ROOT / "emulator" / "sigv4.py").read_text()
    assert source.count("hmac.compare_digest(") >= 3


def test_the_scan_would_catch_a_plain_comparison():
    planted = "def check(auth, settings):\n    return auth.signature == expected or settings.secret_access_key != key\n"
    assert len(plain_secret_comparisons(planted)) == 2
