"""`ngx.arg` and `ngx.header` for pre-/post-function snippets (lua-nginx-module, lua-resty-core).

Why: a header_filter/body_filter snippet rewrites a response with these two:
`ngx.header.content_length = nil` before the body changes length, then the body
chunk by chunk through `ngx.arg[1]` (the chunk) and `ngx.arg[2]` (eof). Their
rules are lua-nginx-module's (README body_filter_by_lua, ngx.arg, ngx.header):

* `ngx.arg` exists in body_filter_by_lua* (and set_by_lua*) only; elsewhere
  "API disabled in the context of <phase>_by_lua*". Setting ngx.arg[1] to nil or
  "" sends nothing downstream, to a table of strings sends them concatenated;
  setting ngx.arg[2] = true ends the body (later data is discarded).
* `ngx.header.<name>`: underscores read as hyphens
  (lua_transform_underscores_in_response_headers, on by default), names are
  case-insensitive; reading gives a string, a table for a repeated header, or
  nil; writing nil or {} clears it, a table sets every value, anything else its
  tostring. A write once the headers went out (body_filter, log) is logged,
  "attempt to set ngx.header.HEADER after sending out response headers", and
  ignored.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..luatypes import LuaError

if TYPE_CHECKING:  # pragma: no cover
    from .pre_function import LuaSnippets

_NGINX_CONTEXT = {"rewrite": "rewrite_by_lua*", "access": "access_by_lua*", "header_filter": "header_filter_by_lua*",
                  "body_filter": "body_filter_by_lua*", "log": "log_by_lua*", "error": "content_by_lua*",
                  "response": "content_by_lua*"}
"""Kong phase -> the nginx directive running it (kong/templates/nginx_kong.lua; Kong.handle_error is content)."""


class NgxApi:
    """The Python side of one Lua state's `ngx.arg` and `ngx.header` tables (the request is `snippets.current`)."""

    def __init__(self, snippets: "LuaSnippets") -> None:
        self.snippets = snippets

    def _arg(self) -> list:
        rq = self.snippets.current
        if rq.phase != "body_filter" or rq.body_filter_arg is None:
            raise LuaError("API disabled in the context of %s" % _NGINX_CONTEXT.get(rq.phase or "", rq.phase))
        return rq.body_filter_arg

    def arg_get(self, index: Any) -> Any:
        arg = self._arg()
        if index == 1:
            return arg[0] if arg[0] is not None else b""
        if index == 2:
            return bool(arg[1])
        return None

    def arg_set(self, index: Any, value: Any) -> None:
        arg = self._arg()
        if index == 1:
            value = self.snippets._from_lua(value)
            if isinstance(value, list):
                value = "".join(str(v) for v in value)
            if value is not None and not isinstance(value, str):
                raise LuaError("bad argument #1 to '?' (string, number, boolean, nil, or array table expected, "
                               "got %s)" % type(value).__name__)
            arg[0] = value.encode("utf-8", "surrogateescape") if value else None
        elif index == 2:
            arg[1] = bool(value)
        else:
            raise LuaError("bad index: %s" % index)

    @staticmethod
    def _name(name: Any) -> str:
        text = name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else str(name)
        return text.replace("_", "-")

    def header_get(self, name: Any) -> Any:
        rq = self.snippets.current
        values = rq.resp_headers.get_all(self._name(name))
        if not values:
            return None
        return self.snippets._to_lua(values[0] if len(values) == 1 else list(values))

    def header_set(self, name: Any, value: Any) -> None:
        rq = self.snippets.current
        if rq.headers_sent:
            rq.runtime.log_for(rq, "error", "attempt to set ngx.header.HEADER after sending out response headers")
            return
        header = self._name(name)
        value = self.snippets._from_lua(value)
        if value is None or value == [] or value == {}:
            rq.resp_headers.clear(header)
        elif isinstance(value, (list, dict)):
            rq.resp_headers.set(header, [str(v) for v in (value if isinstance(value, list) else value.values())])
        else:
            rq.resp_headers.set(header, _tostring(value))


def _tostring(value: Any) -> str:
    """Lua's tostring for a header value (1 -> "1", true -> "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
