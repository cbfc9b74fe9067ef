"""Registration helpers shared by the emulated PDK modules.

Why: the RPC bridge resolves ``"kong.request.get_header"`` style names to
functions (mp_rpc.lua get_field/index_table), and the bundled-plugin
emulations call the same functions directly.  Functions take the request
context first and return one value, or ``Ret(...)`` for Lua multiple returns.
"""
from __future__ import annotations

from typing import Any, Callable

from .luatypes import LuaError, lua_type

PdkFunction = Callable[..., Any]

FUNCTIONS: dict[str, PdkFunction] = {}
NAMESPACES: set[str] = {"kong"}


class Ret(tuple):
    """Multiple Lua return values; the RPC bridge keeps only the first."""

    @property
    def first(self) -> Any:
        return self[0] if self else None

    @property
    def err(self) -> Any:
        return self[1] if len(self) > 1 else None


def first(value: Any) -> Any:
    return value.first if isinstance(value, Ret) else value


def pdk(name: str) -> Callable[[PdkFunction], PdkFunction]:
    """Register a PDK function under its dotted name."""

    def deco(fn: PdkFunction) -> PdkFunction:
        FUNCTIONS[name] = fn
        parts = name.split(".")
        for i in range(1, len(parts)):
            NAMESPACES.add(".".join(parts[:i]))
        return fn

    return deco


def arg(args: tuple, i: int) -> Any:
    """``select(i, ...)`` with nil for missing positions."""
    return args[i] if i < len(args) else None


def want_string(v: Any, msg: str) -> None:
    if not isinstance(v, (str, bytes)):
        raise LuaError(msg)


def want_number(v: Any, msg: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise LuaError(msg)


def text(v: Any) -> str:
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v


def type_name(v: Any) -> str:
    return lua_type(v)
