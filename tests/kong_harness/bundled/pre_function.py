"""pre-function (kong/plugins/pre-function/handler.lua -> _handler.lua, PRIORITY 1000000).

Why: Kong shops use it for small request fix-ups before authentication; this
gateway uses it to accept `Authorization: Bearer <key>` (OpenAI and Anthropic
SDKs) for key-auth. The configured Lua really runs, in LuaJIT/Lua through
lupa, with an environment built like Kong's sandbox (`untrusted_lua =
sandbox`, kong/tools/sandbox.lua + kong/tools/kong-lua-sandbox.lua BASE_ENV)
whose `kong` table calls the harness's own PDK functions (pdk_registry), so a
snippet sees exactly what an external plugin would.

Emulated: the `access`, `header_filter` and `body_filter` phases (_handler.lua
defines all six; Kong.header_filter/Kong.body_filter in kong/init.lua run the
collected handlers for proxied responses and for Kong's own, exit or error
page), chunk-or-returned-function semantics of _handler.lua
compile_phase_array, `kong.response.exit` ending the access phase (delayed
response), reading `ngx.var`, `kong.ctx.shared` (the request's table external
plugins read with `kong.ctx.shared.get`; _handler.lua gives the sandbox
`env = { kong = sandbox_kong, ngx = ngx }`), `ngx.arg[1]`/`ngx.arg[2]` in
body_filter and `ngx.header` (lua_ngx.py). The PDK functions are the
harness's, with kong/pdk's phase checks (response.lua: get_status, get_header,
get_source in header_filter/body_filter/log; set_header, clear_header up to
header_filter; get_raw_body/set_raw_body in body_filter only). Not emulated
(start error if configured): the certificate, rewrite and log phases,
`kong.cache`, `kong.ctx.plugin`, `kong.response.exit` inside header_filter
(response.lua's ctx.response_body path), `ngx` beyond `ngx.null`, `ngx.var`
reads, `ngx.arg` and `ngx.header`.
"""
from __future__ import annotations

import re
import threading
from typing import Any

import lupa.luajit21 as lupa   # Kong runs OpenResty's LuaJIT 2.1

from ..luatypes import LuaError
from ..pdk_base import FUNCTIONS, Ret
from ..request_ctx import RequestContext
from . import lua_ngx

PRIORITY = 1000000
PHASES = {"access", "header_filter", "body_filter"}
FILTER_PHASES = ("header_filter", "body_filter")

# kong/plugins/pre-function/_schema.lua (phase_functions: array of strings, default {}), shared with
# post-function: `require("kong.plugins.pre-function._schema")(plugin_name)`
_PHASE_FUNCTIONS = {"type": "array", "required": True, "default": [], "elements": {"type": "string"}}


def schema(plugin_name: str, priority: int) -> dict:
    """_schema.lua's schema for `plugin_name`, with the handler's priority and phases for the iterator."""
    return {
        "name": plugin_name,
        "fields": [
            {"name": "consumer", "type": "foreign", "reference": "consumers", "eq": None},
            {"name": "config", "type": "record", "fields": [
                {"name": phase, **_PHASE_FUNCTIONS}
                for phase in ("certificate", "rewrite", "access", "header_filter", "body_filter", "log")]},
        ],
        "entity_checks": [{"at_least_one_of": ["config.certificate", "config.rewrite", "config.access",
                                               "config.header_filter", "config.body_filter", "config.log"]}],
        "handler_PRIORITY": priority,
        "handler_phases": sorted(PHASES),
    }


SCHEMA = schema("pre-function", PRIORITY)

# kong/tools/kong-lua-sandbox.lua BASE_ENV (the safe globals)
_BASE_ENV = """_VERSION assert error ipairs next pairs pcall select tonumber tostring type unpack xpcall
math.abs math.acos math.asin math.atan math.atan2 math.ceil math.cos math.cosh math.deg math.exp math.fmod
math.floor math.frexp math.huge math.ldexp math.log math.log10 math.max math.min math.modf math.pi math.pow
math.rad math.random math.sin math.sinh math.sqrt math.tan math.tanh os.clock os.date os.difftime os.time
string.byte string.char string.find string.format string.gmatch string.gsub string.len string.lower
string.match string.rep string.reverse string.sub string.upper table.concat table.insert table.maxn
table.remove table.sort""".split()

_BUILD_ENV = """
function(names, kong, var_get, shared_get, shared_set, arg_get, arg_set, header_get, header_set)
  kong.ctx = {shared = setmetatable({}, {
    __index = function(_, k) return shared_get(k) end,
    __newindex = function(_, k, v) shared_set(k, v) end})}
  local var = setmetatable({}, {
    __index = function(_, k) return var_get(k) end,
    __newindex = function() error('the harness does not emulate writes to ngx.var') end})
  local arg = setmetatable({}, {
    __index = function(_, k) return arg_get(k) end,
    __newindex = function(_, k, v) arg_set(k, v) end})
  local header = setmetatable({}, {
    __index = function(_, k) return header_get(k) end,
    __newindex = function(_, k, v) header_set(k, v) end})
  local env = {kong = kong, ngx = {null = nil, var = var, arg = arg, header = header}}
  for _, id in ipairs(names) do
    local module, method = id:match('([^%.]+)%.([^%.]+)')
    local source = module and _G[module] and _G[module][method] or _G[id]
    if module then env[module] = env[module] or {}; env[module][method] = source
    elseif source ~= nil then env[id] = source end
  end
  return env
end"""
_LOAD = "function(code, env) return load(code, '=pre-function', 't', env) end"

_compiled: dict[tuple[int, str], tuple[dict, "LuaSnippets"]] = {}
"""(id(conf), plugin name) -> (conf, its compiled functions). Kong 3.6.1's kong/plugins/pre-function/_handler.lua caches
by the config table itself (`config_cache`, weak keys); keeping `conf` here and checking it is the same
object gives that identity, where an id alone could be reused by a later config once the first is freed
(a /broken route then ran another config's snippet in a test run)."""
_compiled_lock = threading.Lock()


_READS_BODY = re.compile(r"request\.get_raw_body|request\.get_body|req\.read_body|req\.get_body_data|get_post_args")
"""The PDK and ngx calls that read the request body (kong.request.get_raw_body/get_body, ngx.req.read_body,
ngx.req.get_body_data, ngx.req.get_post_args); kong.response.get_raw_body (body_filter) reads the response's."""


class LuaSnippets:
    """One plugin config's Lua runtime and compiled snippets (pre-/post-function's phase functions, file-log's
    custom fields)."""

    def __init__(self, snippets: list[str], plugin_name: str = "pre-function") -> None:
        self.lock = threading.Lock()           # a Lua state is single-threaded; requests are not
        self.current: RequestContext | None = None
        # encoding=None: Lua strings are bytes (a client's body or header need not be UTF-8); every
        # string crosses as bytes both ways (_to_lua, _from_lua)
        self.lua = lupa.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                   register_builtins=False)
        ngx_api = lua_ngx.NgxApi(self)
        env = self.lua.eval(_BUILD_ENV)(self._to_lua(_BASE_ENV), self._kong_table(), self._var_get,
                                        self._shared_get, self._shared_set, ngx_api.arg_get, ngx_api.arg_set,
                                        ngx_api.header_get, ngx_api.header_set)
        load = self.lua.eval(_LOAD.replace("=pre-function", "=" + plugin_name))
        self.functions: list[Any] = []
        for code in snippets:
            fn, err = _pair(load(code.encode(), env))
            if fn is None:
                raise ValueError("error parsing %s: %s" % (plugin_name, self._from_lua(err)))
            self.functions.append(fn)
        self.first_run_done = [False] * len(self.functions)
        self.reads_body = any(_READS_BODY.search(code) for code in snippets)

    def _kong_table(self) -> Any:
        root: dict[str, Any] = {}
        for name, fn in FUNCTIONS.items():
            parts = name.split(".")[1:]
            node = root
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            if isinstance(node, dict):
                node[parts[-1]] = self._bridge(fn)
        return self._to_lua(root)

    def _var_get(self, name: Any) -> Any:
        """`ngx.var.<name>` (reads only)."""
        return self._to_lua(self.current.get_var(self._from_lua(name)))

    def _shared_get(self, key: Any) -> Any:
        """`kong.ctx.shared.<key>`: the table external plugins read with kong.ctx.shared.get."""
        return self._to_lua(self.current.shared.get(self._from_lua(key)))

    def _shared_set(self, key: Any, value: Any) -> None:
        key = self._from_lua(key)
        if value is None:
            self.current.shared.pop(key, None)
        else:
            self.current.shared[key] = self._from_lua(value)

    def _bridge(self, fn: Any) -> Any:
        def call(*args: Any) -> Any:
            result = fn(self.current, *[self._from_lua(a) for a in args])
            if isinstance(result, Ret):
                return tuple(self._to_lua(v) for v in result)
            return self._to_lua(result)
        return call

    def _to_lua(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.lua.table_from({self._to_lua(k): self._to_lua(v) for k, v in value.items()})
        if isinstance(value, (list, tuple)):
            return self.lua.table_from([self._to_lua(v) for v in value])
        if isinstance(value, str):   # Lua strings are bytes: a header's non-UTF-8 bytes go in as they came
            return value.encode("utf-8", "surrogateescape")
        return value

    def _from_lua(self, value: Any) -> Any:
        if isinstance(value, bytes):  # every Lua string (encoding=None)
            return value.decode("utf-8", "surrogateescape")
        if lupa.lua_type(value) != "table":
            return value
        items = dict(value.items())
        if items and all(isinstance(k, int) for k in items) and sorted(items) == list(range(1, len(items) + 1)):
            return [self._from_lua(items[i]) for i in range(1, len(items) + 1)]
        return {self._from_lua(k): self._from_lua(v) for k, v in items.items()}

    def run(self, rq: RequestContext) -> None:
        """_handler.lua compile_phase_array: a chunk that returns a function is replaced by it.

        The body a chunk reads is read first, outside the lock: ngx.req.read_body() waits for a slow client
        without holding other requests (lua-nginx-module yields the request's coroutine), where one Lua state
        under one lock would make every request wait for it. Chunks that never read it leave it unread (a
        pre-function before key-auth must not wait for the body of a request key-auth refuses at once)."""
        if self.reads_body:
            rq.read_body()
        with self.lock:
            self.current = rq
            try:
                for i, fn in enumerate(self.functions):
                    result = fn()
                    if not self.first_run_done[i]:
                        self.first_run_done[i] = True
                        if lupa.lua_type(result) == "function":
                            self.functions[i] = result
                            result()
            except lupa.LuaError as e:
                raise LuaError(_message(e).split("\n", 1)[0]) from None
            finally:
                self.current = None

    def evaluate(self, rq: RequestContext, index: int) -> list[Any]:
        """What chunk `index` returns, every value (kong/tools/sandbox.lua `sandbox(code, opts)()`)."""
        with self.lock:
            self.current = rq
            try:
                result = self.functions[index]()
            except lupa.LuaError as e:
                raise LuaError(_message(e).split("\n", 1)[0]) from None
            finally:
                self.current = None
        values = list(result) if isinstance(result, tuple) else [result]
        return [self._from_lua(v) for v in values]


def _message(error: lupa.LuaError) -> str:
    """A Lua error's text (with encoding=None lupa may hand the message over as bytes)."""
    text = error.args[0] if error.args else ""
    return text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else str(text)


def _pair(result: Any) -> tuple[Any, Any]:
    """Lua's `fn, err` (lupa returns a lone value as itself, several as a tuple)."""
    return tuple(result) if isinstance(result, tuple) else (result, None)


def validate(conf: dict, plugin_name: str = "pre-function") -> None:
    """The schema's custom_validator (loadstring) plus the harness's own limits."""
    for phase in ("certificate", "rewrite", "log"):
        if conf.get(phase):
            raise ValueError("%s: the %s phase is not emulated by the harness (access, header_filter and "
                             "body_filter are)" % (plugin_name, phase))
    for phase in ("access", *FILTER_PHASES):
        _compiled_for(conf, plugin_name, phase)


def compiled_once(conf: dict, snippets: list[str], plugin_name: str, phase: str = "access") -> LuaSnippets:
    """`snippets` compiled once per config table and phase (see `_compiled`)."""
    with _compiled_lock:
        key = (id(conf), plugin_name, phase)
        cached = _compiled.get(key)
        if cached is None or cached[0] is not conf:
            cached = _compiled[key] = (conf, LuaSnippets(snippets, plugin_name))
        return cached[1]


def _compiled_for(conf: dict, plugin_name: str = "pre-function", phase: str = "access") -> LuaSnippets:
    return compiled_once(conf, list(conf.get(phase) or []), plugin_name, phase)


def run_phase(rq: RequestContext, conf: dict, plugin_name: str, phase: str) -> None:
    """_handler.lua `config_cache[config][phase]()`: a phase without snippets is a no_op."""
    if conf.get(phase):
        _compiled_for(conf, plugin_name, phase).run(rq)


def access(rq: RequestContext, conf: dict, plugin_name: str = "pre-function") -> None:
    run_phase(rq, conf, plugin_name, "access")


def header_filter(rq: RequestContext, conf: dict, plugin_name: str = "pre-function") -> None:
    run_phase(rq, conf, plugin_name, "header_filter")


def body_filter(rq: RequestContext, conf: dict, plugin_name: str = "pre-function") -> None:
    run_phase(rq, conf, plugin_name, "body_filter")
