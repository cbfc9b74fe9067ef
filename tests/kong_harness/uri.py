"""kong/tools/uri.lua ``normalize`` and ``escape``.

Why: ``kong.request.get_path()`` returns the normalized path and the upstream
URI is escaped with Kong's pattern; plugins and upstreams see these exact strings.
"""
from __future__ import annotations

import re

_RESERVED = set(b"!*'();:@&=+$,/?%#[]")
_ESCAPE_RX = re.compile(r"[^!#$&'()*+,/:;=?@\[\]A-Za-z\d\-_.~%]")


def escape(uri: str) -> str:
    return _ESCAPE_RX.sub(lambda m: "".join("%%%02X" % b for b in m.group(0).encode()), uri)


def _decode(m: re.Match) -> str:
    num = int(m.group(1), 16)
    if num not in _RESERVED:
        return chr(num)
    return m.group(0).upper()


def normalize(uri: str, merge_slashes: bool = False) -> str:
    if uri in ("", "/"):
        return uri
    if "%" in uri:
        uri = re.sub(r"%([0-9A-Fa-f]{2})", _decode, uri)
    if "." not in uri and (not merge_slashes or "//" not in uri):
        return uri
    out: list[str] = []
    while uri:
        if uri == "/.":
            uri = "/"
        elif uri == "/..":
            uri = "/"
            if out:
                out.pop()
        elif uri in (".", ".."):
            uri = ""
        elif uri.startswith("../"):
            uri = uri[3:]
        elif uri.startswith("./"):
            uri = uri[2:]
        elif uri.startswith("/./"):
            uri = uri[2:]
        elif uri.startswith("/../"):
            uri = uri[3:]
            if out:
                out.pop()
        elif merge_slashes and uri.startswith("//"):
            uri = uri[1:]
        else:
            i = uri.find("/", 1)
            if i >= 0:
                out.append(uri[:i])
                uri = uri[i:]
            else:
                out.append(uri)
                uri = ""
    return "".join(out)
